"""Privacy requests matched to persons through the identity graph, and who is suppressed."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.identity_config import load_identity_config
from cdp_platform.privacy.requests import build_subjects
from cdp_platform.resources.warehouse import create_declared_tables

RECORDS = [
    # source, record, person, email_match, phone, crm id, card, user id
    ("crm_contacts", "c1", "ann", "annsmith@gmail.com", "+447700900001", "c1", None, None),
    ("pos_loyalty", "600", "ann", None, "+447700900001", None, "600", None),
    ("web_events", "b1", "ann", None, None, None, None, "U1"),
    ("shop_orders", "#1", "bob", "bob@example.org", "+447700900002", None, None, None),
    ("crm_contacts", "c3", "cat", "cat@example.org", None, "c3", None, None),
    ("crm_contacts", "c4", "dan", "dan@example.org", None, "c4", None, None),
]


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    for source, record, person, *fields in RECORDS:
        conn.execute(
            "INSERT INTO staging.identity_records (source, source_record_id, email_match, phone, "
            "crm_record_id, loyalty_card, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [source, record, *fields],
        )
        conn.execute(
            "INSERT INTO identity.person_id_map VALUES (?, ?, ?)", [source, record, person]
        )
    conn.execute(
        "CREATE TABLE sources.privacy_requests (request_id VARCHAR, type VARCHAR, "
        "identifier_type VARCHAR, identifier_value VARCHAR, received_at TIMESTAMPTZ)"
    )
    yield conn
    conn.close()


def request(db, request_id, kind, identifier_type, value, at):
    db.execute(
        "INSERT INTO sources.privacy_requests VALUES (?, ?, ?, ?, ?)",
        [request_id, kind, identifier_type, value, f"2026-09-{at:02d} 10:00:00+00"],
    )


def subjects(db) -> dict[str, str]:
    return dict(db.execute("SELECT person_id, status FROM privacy.subjects").fetchall())


def test_an_email_on_a_request_reaches_every_record_of_its_person(db):
    # Typed differently from any record: dots, a +tag and capitals at gmail.
    request(db, "R1", "SUPPRESS", "email", "  Ann.Smith+news@GMAIL.com ", 1)
    build_subjects(db, load_identity_config())
    assert subjects(db) == {"ann": "suppressed"}
    matched = db.execute(
        "SELECT DISTINCT person_id FROM privacy.request_matches WHERE request_id = 'R1'"
    ).fetchall()
    assert matched == [("ann",)]


@pytest.mark.parametrize(
    ("identifier_type", "value", "person"),
    [
        ("phone", "07700 900002", "bob"),  # national form: matched in E.164
        ("crm_record_id", "c3", "cat"),
        ("loyalty_card", "600", "ann"),
        ("user_id", "U1", "ann"),
    ],
)
def test_every_kind_of_identifier_matches(db, identifier_type, value, person):
    request(db, "R1", "SUPPRESS", identifier_type, value, 1)
    build_subjects(db, load_identity_config())
    assert subjects(db) == {person: "suppressed"}


def test_the_latest_request_decides_and_an_erasure_stands(db):
    request(db, "R1", "SUPPRESS", "email", "bob@example.org", 1)
    request(db, "R2", "UNSUPPRESS", "phone", "+447700900002", 2)  # bob again, by phone
    request(db, "R3", "SUPPRESS", "crm_record_id", "c3", 1)
    request(db, "R4", "DELETE", "email", "dan@example.org", 1)
    request(db, "R5", "UNSUPPRESS", "email", "dan@example.org", 5)  # too late: erased
    request(db, "R6", "SUPPRESS", "email", "nobody@example.org", 1)
    counts = build_subjects(db, load_identity_config())
    assert subjects(db) == {"cat": "suppressed", "dan": "erased"}
    assert counts == {
        "requests": 6,
        "requests_unmatched": 1,
        "persons_suppressed": 1,
        "persons_erased": 1,
    }
