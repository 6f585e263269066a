"""Membership across runs: who enters, stays and leaves, and who was in on a past day."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform.segments.membership import evaluate_segment, members_on
from cdp_platform.segments.spec import Condition, SegmentSpec

BUYERS = SegmentSpec(
    name="buyers",
    description="bought at least once",
    where=Condition(trait="orders", op=">=", value=1),
    holdout_percent=30,
)


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        "INSERT INTO profiles.golden_profiles BY NAME SELECT 'p' || i AS person_id, "
        "[]::VARCHAR[] AS emails, []::VARCHAR[] AS phones FROM range(1, 7) r(i)"
    )
    conn.execute(
        "CREATE TABLE profiles.customer_traits AS SELECT person_id, NULL::DATE AS as_of, 0 AS orders "
        "FROM profiles.golden_profiles"
    )
    for table, columns in (
        (
            "customer_scores",
            "NULL::DOUBLE AS churn_probability, NULL::VARCHAR AS churn_risk, "
            "NULL::DOUBLE AS predicted_value",
        ),
        ("lead_scores", "NULL::INTEGER AS lead_score, NULL::VARCHAR AS account_id"),
    ):
        conn.execute(
            f"INSERT INTO profiles.{table} BY NAME SELECT person_id, {columns} "
            "FROM profiles.golden_profiles"
        )
    yield conn
    conn.close()


def run(db, as_of: str, buyers: list[str], run_id: str):
    db.execute(
        "UPDATE profiles.customer_traits SET orders = CASE WHEN list_contains(?, person_id) "
        "THEN 1 ELSE 0 END",
        [buyers],
    )
    return evaluate_segment(db, BUYERS, as_of, set(), run_id)


def current(db) -> dict[str, bool]:
    return dict(
        db.execute(
            "SELECT person_id, holdout FROM segments.segment_memberships WHERE segment = 'buyers'"
        ).fetchall()
    )


def test_three_runs_enter_stay_and_leave(db):
    first = run(db, "2026-09-01", ["p1", "p2", "p3"], "r1")
    assert (first.size, first.entered, first.exited, first.previous_size) == (3, 3, 0, None)
    entered_at = dict(
        db.execute("SELECT person_id, entered_at FROM segments.segment_memberships").fetchall()
    )

    second = run(db, "2026-09-02", ["p2", "p3", "p4", "p5"], "r2")  # p1 leaves, p4 p5 enter
    assert (second.size, second.entered, second.exited, second.previous_size) == (4, 2, 1, 3)
    # Those who stayed keep the time they entered.
    stayed = dict(
        db.execute(
            "SELECT person_id, entered_at FROM segments.segment_memberships "
            "WHERE person_id IN ('p2', 'p3')"
        ).fetchall()
    )
    assert stayed == {p: entered_at[p] for p in ("p2", "p3")}

    third = run(db, "2026-09-03", ["p1", "p5"], "r3")  # p1 returns; p2 p3 p4 leave
    assert (third.size, third.entered, third.exited) == (2, 1, 3)
    assert set(current(db)) == {"p1", "p5"}

    events = db.execute(
        "SELECT as_of::VARCHAR, person_id, event, run_id FROM segments.segment_membership_events "
        "ORDER BY as_of, person_id"
    ).fetchall()
    assert events == [
        ("2026-09-01", "p1", "entered", "r1"),
        ("2026-09-01", "p2", "entered", "r1"),
        ("2026-09-01", "p3", "entered", "r1"),
        ("2026-09-02", "p1", "exited", "r2"),
        ("2026-09-02", "p4", "entered", "r2"),
        ("2026-09-02", "p5", "entered", "r2"),
        ("2026-09-03", "p1", "entered", "r3"),
        ("2026-09-03", "p2", "exited", "r3"),
        ("2026-09-03", "p3", "exited", "r3"),
        ("2026-09-03", "p4", "exited", "r3"),
    ]
    # Who was in on each day, from the events alone.
    assert members_on(db, "buyers", "2026-08-31") == []
    assert members_on(db, "buyers", "2026-09-01") == ["p1", "p2", "p3"]
    assert members_on(db, "buyers", "2026-09-02") == ["p2", "p3", "p4", "p5"]
    assert members_on(db, "buyers", "2026-09-10") == ["p1", "p5"]
    sizes = db.execute(
        "SELECT size, entered, exited FROM segments.segment_sizes ORDER BY recorded_at"
    ).fetchall()
    assert sizes == [(3, 3, 0), (4, 2, 1), (2, 1, 3)]


def test_an_unchanged_rerun_records_no_events_and_keeps_the_holdout(db):
    run(db, "2026-09-01", ["p1", "p2", "p3", "p4", "p5", "p6"], "r1")
    held = current(db)
    assert 0 < sum(held.values()) < 6  # some held out at 30%, not all
    again = run(db, "2026-09-01", ["p1", "p2", "p3", "p4", "p5", "p6"], "r2")
    assert (again.entered, again.exited) == (0, 0)
    assert current(db) == held  # the same persons held out, run after run
    assert db.execute("SELECT count(*) FROM segments.segment_membership_events").fetchone() == (6,)


def test_a_failed_evaluation_changes_nothing(db):
    run(db, "2026-09-01", ["p1"], "r1")
    broken = BUYERS.model_copy(update={"where": Condition(sql="no_such_column > 1")})
    with pytest.raises(duckdb.Error):
        evaluate_segment(db, broken, "2026-09-02", set(), "r2")
    assert set(current(db)) == {"p1"}
    assert db.execute("SELECT count(*) FROM segments.segment_sizes").fetchone() == (1,)
