"""The segment compiler, operator by operator, on hand-made persons whose answers are known."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from cdp_platform.profiles.traits import loaded_sources
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform.segments.compiler import compile_condition, compile_segment
from cdp_platform.segments.spec import Condition, SegmentSpec

AS_OF = "2026-09-30"  # windows end at 2026-10-01 00:00 UTC


@pytest.fixture(scope="module")
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        """INSERT INTO profiles.golden_profiles BY NAME SELECT * FROM (VALUES
             ('p1', 'Ann', 'ann@x.com', 'GB', ['crm_contacts', 'pos_loyalty'], [], []),
             ('p2', 'Bob', 'bob@x.com', 'FR', ['web_events'], [], []),
             ('p3', 'Cat', NULL, 'GB', ['shop_orders'], [], []),
             ('p4', 'Dan', 'dan@x.com', NULL, ['shop_orders', 'web_events'], [], [])
           ) t(person_id, first_name, email, country, sources, emails, phones)"""
    )
    conn.execute(
        """CREATE TABLE profiles.customer_traits AS SELECT * FROM (VALUES
             ('p1', DATE '2026-09-30', 3, 300.0, TIMESTAMPTZ '2026-09-20 10:00:00+00', 'subscribed'),
             ('p2', DATE '2026-09-30', 0, NULL, NULL, 'unsubscribed'),
             ('p3', DATE '2026-09-30', 1, 20.0, TIMESTAMPTZ '2026-03-14 10:00:00+00', NULL),
             ('p4', DATE '2026-09-30', 2, 50.0, TIMESTAMPTZ '2026-09-27 10:00:00+00', 'subscribed')
           ) t(person_id, as_of, orders, revenue, last_order_at, email_status)"""
    )
    conn.execute(
        """INSERT INTO profiles.customer_scores BY NAME SELECT * FROM (VALUES
             ('p1', 0.9, 'high', 200.0), ('p2', 0.99, 'high', 0.0),
             ('p3', 0.5, 'medium', 15.0), ('p4', 0.1, 'low', 80.0)
           ) t(person_id, churn_probability, churn_risk, predicted_value)"""
    )
    conn.execute(
        """INSERT INTO profiles.lead_scores BY NAME SELECT * FROM (VALUES
             ('p1', 'A1', 50), ('p2', NULL, 0), ('p3', 'A2', 10), ('p4', NULL, 0)
           ) t(person_id, account_id, lead_score)"""
    )
    conn.execute(
        """INSERT INTO profiles.accounts BY NAME SELECT * FROM (VALUES
             ('A1', 'Acme', 'acme.com', 'Software', 250), ('A2', 'Initech', 'initech.com',
             'Retail', 12)) t(account_id, name, domain, industry, employees)"""
    )
    conn.execute(
        """CREATE TABLE profiles.account_traits AS SELECT * FROM (VALUES
             ('A1', 'opportunity', 3), ('A2', 'lead', 1)) t(account_id, furthest_stage, contacts)"""
    )
    conn.execute(
        """CREATE TABLE profiles.account_lead_scores AS SELECT * FROM (VALUES
             ('A1', 80, 50), ('A2', 20, 10)) t(account_id, lead_score, best_contact_score)"""
    )
    conn.execute(
        """INSERT INTO profiles.consent_state BY NAME SELECT * FROM (VALUES
             ('p1', 'email_marketing', 'granted'), ('p2', 'email_marketing', 'denied'),
             ('p3', 'email_marketing', 'unknown'), ('p4', 'email_marketing', 'granted'),
             ('p1', 'sms', 'denied'), ('p2', 'sms', 'unknown'), ('p3', 'sms', 'unknown'),
             ('p4', 'sms', 'granted')) t(person_id, purpose, status)"""
    )
    # Web events: (browser, person, time, event).
    web = [
        ("b1", "p1", "2026-09-25 10:00:00", "Product Viewed"),
        ("b1", "p1", "2026-09-26 10:00:00", "Product Viewed"),
        ("b1", "p1", "2026-09-29 10:00:00", "Product Viewed"),
        ("b2", "p2", "2026-09-29 12:00:00", "Product Viewed"),
        ("b2", "p2", "2026-09-30 22:00:00", "Product Viewed"),
        ("b2", "p2", "2026-09-30 22:05:00", "Product Added"),  # 2 hours before the end
        ("b2", "p2", "2026-10-02 09:00:00", "Product Added"),  # after the as-of day
        ("b4", "p4", "2026-09-21 10:00:00", "Product Viewed"),  # 10 days back: out of 7
        *(("b4", "p4", f"2026-09-2{d} 11:00:00", "Product Viewed") for d in (6, 7, 8)),
        ("b4", "p4", "2026-09-28 12:00:00", "Product Viewed"),
    ]
    conn.execute(
        "CREATE TABLE sources.web_events (anonymous_id VARCHAR, timestamp TIMESTAMPTZ, "
        "message_id VARCHAR, type VARCHAR, event VARCHAR, page_path VARCHAR)"
    )
    for n, (browser, _, at, event) in enumerate(web):
        conn.execute(
            "INSERT INTO sources.web_events VALUES (?, ?, ?, 'track', ?, '/p')",
            [browser, f"{at}+00", f"m{n}", event],
        )
    for browser, person in {(b, p) for b, p, _, _ in web}:
        conn.execute(
            "INSERT INTO identity.person_id_map VALUES ('web_events', ?, ?)", [browser, person]
        )
    # Orders: p4 bought within the week, p3 long ago.
    conn.execute(
        """CREATE TABLE sources.shop_orders AS SELECT * FROM (VALUES
             ('#1', DATE '2026-09-27', 1, 'paid', TIMESTAMPTZ '2026-09-27 10:00:00+00', 20.0, 'GBP'),
             ('#2', DATE '2026-03-14', 1, 'paid', TIMESTAMPTZ '2026-03-14 10:00:00+00', 20.0, 'GBP')
           ) t(source_record_id, _partition_date, _line, financial_status, created_at, total,
               currency)"""
    )
    conn.execute(
        "INSERT INTO identity.person_id_map VALUES ('shop_orders', '#1', 'p4'), "
        "('shop_orders', '#2', 'p3')"
    )
    create_declared_tables(conn)
    conn.execute(
        "INSERT INTO segments.segment_memberships VALUES "
        "('vip', 'p1', false, now(), DATE '2026-09-30'), ('vip', 'p3', true, now(), NULL)"
    )
    yield conn
    conn.close()


def members(db, condition: str) -> set[str]:
    parsed = Condition.model_validate(yaml.safe_load(condition))
    sql = compile_condition(parsed, AS_OF, loaded_sources(db))
    return {p for (p,) in db.execute(sql).fetchall()}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # Comparisons on traits; a missing value meets no comparison.
        ("{trait: orders, op: '=', value: 0}", {"p2"}),
        ("{trait: orders, op: '!=', value: 0}", {"p1", "p3", "p4"}),
        ("{trait: orders, op: '>', value: 1}", {"p1", "p4"}),
        ("{trait: orders, op: '>=', value: 2}", {"p1", "p4"}),
        ("{trait: revenue, op: '<', value: 50}", {"p3"}),
        ("{trait: revenue, op: '<=', value: 50}", {"p3", "p4"}),
        ("{trait: revenue, between: [20, 50]}", {"p3", "p4"}),
        ("{trait: country, in: [GB, FR]}", {"p1", "p2", "p3"}),
        ("{trait: country, not_in: [GB]}", {"p2"}),
        ("{trait: email, is_null: true}", {"p3"}),
        ("{trait: email, is_null: false}", {"p1", "p2", "p4"}),
        # Dates against the as-of day.
        ("{trait: last_order_at, within_days: 7}", {"p4"}),
        ("{trait: last_order_at, within_days: 30}", {"p1", "p4"}),
        ("{trait: last_order_at, older_than_days: 180}", {"p3"}),
        # Scores and the lead score are person columns too.
        ("{trait: churn_risk, in: [high]}", {"p1", "p2"}),
        ("{trait: predicted_value, op: '>=', value: 80}", {"p1", "p4"}),
        ("{trait: lead_score, op: '>', value: 0}", {"p1", "p3"}),
        # Combinators; NOT of an unknown value is not a member either way.
        ("{all: [{trait: country, in: [GB]}, {trait: orders, op: '>=', value: 2}]}", {"p1"}),
        ("{any: [{trait: country, in: [FR]}, {trait: revenue, op: '<', value: 30}]}", {"p2", "p3"}),
        ("{not: {trait: country, in: [GB]}}", {"p2", "p4"}),
        (
            "{not: {any: [{trait: orders, op: '=', value: 0}, {trait: email, is_null: true}]}}",
            {"p1", "p4"},
        ),
        # The person's primary account.
        ("{account_trait: furthest_stage, in: [opportunity]}", {"p1"}),
        ("{account_trait: employees, op: '<', value: 100}", {"p3"}),
        ("{account_trait: lead_score, op: '>=', value: 50}", {"p1"}),
        # Events with windows and counts.
        (
            "{event: web, where: \"event = 'Product Viewed'\", within_days: 7, at_least: 3}",
            {"p1", "p4"},
        ),
        ("{event: web, where: \"event = 'Product Viewed'\", within_days: 7, exactly: 2}", {"p2"}),
        ("{event: web, where: \"event = 'Product Viewed'\", at_least: 5}", {"p4"}),
        ("{event: web, where: \"event = 'Product Added'\", within_hours: 24}", {"p2"}),
        ("{event: web, where: \"event = 'Product Added'\", within_hours: 1}", set()),
        ("{event: purchases, within_days: 7, at_most: 0}", {"p1", "p2", "p3"}),
        ("{event: purchases, at_least: 1}", {"p3", "p4"}),
        ("{event: tickets, at_least: 1}", set()),  # no ticket source loaded: nobody
        # Consent per purpose and status.
        ("{consent: email_marketing}", {"p1", "p4"}),
        ("{consent: email_marketing, status: denied}", {"p2"}),
        ("{consent: sms, status: unknown}", {"p2", "p3"}),
        # Another segment's members (held out or not), and SQL.
        ("{segment: vip}", {"p1", "p3"}),
        ("{sql: \"list_contains(sources, 'pos_loyalty')\"}", {"p1"}),
    ],
)
def test_each_operator_and_window(db, condition, expected):
    assert members(db, condition) == expected


def test_viewed_three_times_in_a_week_and_placed_no_order(db):
    condition = """
      all:
        - {event: web, where: "event = 'Product Viewed'", within_days: 7, at_least: 3}
        - {event: purchases, within_days: 7, exactly: 0}
    """
    assert members(db, condition) == {"p1"}  # p4 viewed as often, but bought


def test_holdout_is_a_stable_share_by_segment_and_person(db):
    spec = SegmentSpec(
        name="everyone",
        description="all",
        where=Condition(sql="true"),
        holdout_percent=50,
    )
    sql = compile_segment(spec, AS_OF, loaded_sources(db))
    first = dict(db.execute(sql).fetchall())
    assert first == dict(db.execute(sql).fetchall())
    assert set(first) == {"p1", "p2", "p3", "p4"}
    # The share held out follows the percentage over many ids.
    share = db.execute(
        "SELECT avg(CASE WHEN (md5_number('everyone' || ':' || 'p' || i) % 10000) < 5000 "
        "THEN 1 ELSE 0 END) FROM range(20000) r(i)"
    ).fetchone()[0]
    assert 0.48 < share < 0.52
    none = spec.model_copy(update={"holdout_percent": 0})
    assert not any(dict(db.execute(compile_segment(none, AS_OF, set())).fetchall()).values())


def test_suppressed_and_erased_subjects_are_in_no_segment(db):
    db.execute("CREATE SCHEMA IF NOT EXISTS privacy")
    db.execute(
        "INSERT INTO privacy.subjects BY NAME SELECT * FROM (VALUES ('p2', 'suppressed'), "
        "('p4', 'erased')) t(person_id, status)"
    )
    try:
        tables = loaded_sources(db) | {"privacy.subjects"}
        sql = compile_condition(Condition(sql="true"), AS_OF, tables)
        assert {p for (p,) in db.execute(sql).fetchall()} == {"p1", "p3"}
    finally:
        db.execute("DROP TABLE privacy.subjects")
