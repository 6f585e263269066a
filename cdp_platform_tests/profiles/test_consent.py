"""Consent from hand-made source histories whose answer is known."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.profiles.consent import build_consent
from cdp_platform.resources.warehouse import create_declared_tables


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    # The CRM contact opted in in January; its address was edited in May, the
    # status column still saying subscribed.
    conn.execute(
        "CREATE TABLE sources.crm_contacts_raw AS SELECT * FROM (VALUES "
        "(DATE '2026-01-10', 1, 'c1', 'subscribed', TIMESTAMPTZ '2026-01-10 09:00:00+00'),"
        "(DATE '2026-05-02', 4, 'c1', 'subscribed', TIMESTAMPTZ '2026-05-02 09:00:00+00'),"
        "(DATE '2026-01-10', 2, 'c2', '', TIMESTAMPTZ '2026-01-10 09:00:00+00')"
        ") t(_partition_date, _line, source_record_id, email_subscription_status, "
        "last_modified_date)"
    )
    # In March the person unsubscribed from the newsletter.
    conn.execute(
        "CREATE TABLE sources.email_subscribers_raw AS SELECT * FROM (VALUES "
        "(DATE '2026-02-01', 1, 'm1', 'subscribed', TIMESTAMPTZ '2026-02-01 08:00:00+00',"
        " TIMESTAMPTZ '2026-02-01 08:00:00+00'),"
        "(DATE '2026-03-15', 1, 'm1', 'unsubscribed', TIMESTAMPTZ '2026-02-01 08:00:00+00',"
        " TIMESTAMPTZ '2026-03-15 18:30:00+00')"
        ") t(_partition_date, _line, source_record_id, status, optin_time, last_changed)"
    )
    conn.execute(
        "CREATE TABLE sources.web_events_raw AS SELECT * FROM (VALUES "
        "('a1', 'identify', TIMESTAMPTZ '2026-04-01 10:00:00+00',"
        ' \'{"email": "x@example.com", "consent": {"advertising": true,'
        ' "analytics": false}}\'::JSON),'
        "('a1', 'page', TIMESTAMPTZ '2026-04-01 10:01:00+00', NULL)"
        ") t(anonymous_id, type, timestamp, traits)"
    )
    conn.execute(
        "INSERT INTO identity.person_id_map BY NAME SELECT * FROM (VALUES "
        "('crm_contacts', 'c1', 'p1'), ('email_subscribers', 'm1', 'p1'), "
        "('web_events', 'a1', 'p1'), ('crm_contacts', 'c2', 'p2')"
        ") t(source, source_record_id, person_id)"
    )
    conn.execute(
        "CREATE TABLE profiles.persons AS SELECT * FROM (VALUES ('p1'), ('p2')) t(person_id)"
    )
    yield conn
    conn.close()


def state(db, person_id: str) -> dict[str, tuple]:
    rows = db.execute(
        "SELECT purpose, status, source FROM profiles.consent_state WHERE person_id = ?",
        [person_id],
    ).fetchall()
    return {purpose: (status, source) for purpose, status, source in rows}


def test_an_unsubscribe_is_not_overridden_by_an_older_opt_in(db):
    build_consent(db, "profiles.persons")
    assert state(db, "p1")["email_marketing"] == ("denied", "email_subscribers")
    # The May edit restated nothing: the CRM said "subscribed" once, in January.
    crm = db.execute(
        "SELECT status, CAST(stated_at AS DATE)::VARCHAR FROM profiles.consent_statements "
        "WHERE source = 'crm_contacts'"
    ).fetchall()
    assert crm == [("granted", "2026-01-10")]


def test_a_later_opt_in_wins_and_history_is_kept(db):
    db.execute(
        "INSERT INTO sources.email_subscribers_raw VALUES (DATE '2026-06-01', 1, 'm1', "
        "'subscribed', TIMESTAMPTZ '2026-06-01 08:00:00+00', TIMESTAMPTZ '2026-06-01 08:00:00+00')"
    )
    build_consent(db, "profiles.persons")
    assert state(db, "p1")["email_marketing"] == ("granted", "email_subscribers")
    history = db.execute(
        "SELECT status FROM profiles.consent_statements WHERE person_id = 'p1' "
        "AND purpose = 'email_marketing' ORDER BY stated_at"
    ).fetchall()
    assert [s for (s,) in history] == ["granted", "granted", "denied", "granted"]


def test_identify_traits_state_other_purposes_and_silence_is_unknown(db):
    counts = build_consent(db, "profiles.persons")
    p1 = state(db, "p1")
    assert p1["advertising"] == ("granted", "web_events")
    assert p1["analytics"] == ("denied", "web_events")
    assert p1["sms"] == ("unknown", None)
    assert set(state(db, "p2").values()) == {("unknown", None)}  # an empty status says nothing
    assert counts["sms"] == {"unknown": 2}


def test_a_denial_wins_a_tie(db):
    db.execute(
        "INSERT INTO sources.crm_contacts_raw VALUES (DATE '2026-03-15', 1, 'c1', "
        "'unsubscribed', TIMESTAMPTZ '2026-07-01 00:00:00+00')"
    )
    db.execute(
        "INSERT INTO sources.email_subscribers_raw VALUES (DATE '2026-07-01', 1, 'm1', "
        "'subscribed', TIMESTAMPTZ '2026-07-01 00:00:00+00', TIMESTAMPTZ '2026-07-01 00:00:00+00')"
    )
    build_consent(db, "profiles.persons")
    assert state(db, "p1")["email_marketing"] == ("denied", "crm_contacts")
