"""Steward pins: they beat survivorship, survive re-runs and follow merges."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.profiles.golden import build_golden_profiles
from cdp_platform.resources.warehouse import create_declared_tables

RECORDS = [
    # source, id, first, last, email, observed_at
    ("crm_contacts", "c1", "katherine", "hale", "kate@crm.example", "2026-01-01"),
    ("web_events", "w1", "kate", "hale", "kate@web.example", "2026-02-01"),
    ("pos_loyalty", "l9", "kat", "hale", "kat@till.example", "2026-03-01"),
]


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.executemany(
        "INSERT INTO staging.identity_records (source, source_record_id, first_name, last_name, "
        "email, observed_at) VALUES (?, ?, ?, ?, ?, ?)",
        RECORDS,
    )
    conn.execute(
        "INSERT INTO identity.person_id_map BY NAME SELECT * FROM (VALUES "
        "('crm_contacts', 'c1', 'p_a'), ('web_events', 'w1', 'p_a'), ('pos_loyalty', 'l9', 'p_b')"
        ") t(source, source_record_id, person_id)"
    )
    create_declared_tables(conn)
    conn.execute(
        "INSERT INTO identity.persons VALUES (?, 1, now(), 'active', NULL), "
        "(?, 2, now(), 'active', NULL)",
        ["p_a", "p_b"],
    )
    yield conn
    conn.close()


def profile(conn, person_id):
    return conn.execute(
        "SELECT first_name, email FROM profiles.golden_profiles WHERE person_id = ?", [person_id]
    ).fetchone()


def provenance(conn, person_id, attribute):
    return conn.execute(
        "SELECT value, source, rule, attribute_group FROM profiles.profile_provenance "
        "WHERE person_id = ? AND attribute = ?",
        [person_id, attribute],
    ).fetchone()


def test_a_pin_beats_survivorship_and_survives_a_rerun_and_a_merge(db):
    config = load_profiles_config()
    build_golden_profiles(db, config)
    assert profile(db, "p_b") == ("Kat", "kat@till.example")

    db.execute(
        "INSERT INTO profiles.steward_overrides (person_id, attribute, value, reason, pinned_by) "
        "VALUES ('p_b', 'first_name', 'Katharina', 'customer called', 'steward@example.com')"
    )
    for _ in range(2):  # the pin holds on every run
        summary = build_golden_profiles(db, config)
        assert summary.pinned == 1
        assert profile(db, "p_b") == ("Katharina", "kat@till.example")
        assert provenance(db, "p_b", "first_name") == ("Katharina", "steward", "pinned", "name")

    # Identity merges p_b into p_a (the older id): the pin follows to p_a.
    db.execute("UPDATE identity.person_id_map SET person_id = 'p_a'")
    db.execute(
        "UPDATE identity.persons SET status = 'merged', merged_into = 'p_a' WHERE person_id = 'p_b'"
    )
    build_golden_profiles(db, config)
    assert profile(db, "p_b") is None
    assert profile(db, "p_a")[0] == "Katharina"
    assert provenance(db, "p_a", "first_name")[1:3] == ("steward", "pinned")
    # Unpinned attributes still follow survivorship (email: the most recent).
    assert profile(db, "p_a")[1] == "kat@till.example"
    assert provenance(db, "p_a", "email")[1] == "pos_loyalty"


def test_a_pin_on_an_unknown_attribute_is_kept_but_not_applied(db):
    config = load_profiles_config()
    build_golden_profiles(db, config)
    db.execute(
        "INSERT INTO profiles.steward_overrides (person_id, attribute, value) "
        "VALUES ('p_a', 'shoe_size', '42')"
    )
    assert build_golden_profiles(db, config).pinned == 0
    assert db.execute("SELECT count(*) FROM profiles.steward_overrides").fetchone()[0] == 1
