"""Campaign lift measured on generated data with a planted effect.

The generator draws each member's purchases: a fifth of people buy within a
month of entering a segment, spending about 50. For the members the
`win_back_emails` sync sent, a planted effect raises that to three in ten; the
`newsletter_offer` sync has no effect. Purchases before entering and after the
window, and members whose send failed, must not count."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from cdp_platform.insight.lift import LIFT_TABLE, measure_lift, write_lift

AS_OF = "2026-06-01"
WINDOW = 30
BASE_CONVERSION = 0.20
PLANTED_CONVERSION = 0.10  # win_back_emails only
MEAN_SPEND = 50.0
LINKS = [
    ("win_back_emails", "lapsed_customers"),
    ("newsletter_offer", "newsletter_never_bought"),
    ("tiny_holdout_sync", "tiny_holdout"),
]
PURCHASES = "SELECT person_id, occurred_at, amount FROM test.purchases"


def _generate(conn: duckdb.DuckDBPyConnection, seed: int = 11) -> None:
    rng = random.Random(seed)
    conn.execute("CREATE SCHEMA segments; CREATE SCHEMA activation; CREATE SCHEMA test")
    conn.execute(
        "CREATE TABLE segments.segment_membership_events (segment VARCHAR, person_id VARCHAR, "
        "event VARCHAR, holdout BOOLEAN, as_of DATE, occurred_at TIMESTAMPTZ, run_id VARCHAR)"
    )
    conn.execute(
        "CREATE TABLE activation.sync_log (sync VARCHAR, run_id VARCHAR, person_id VARCHAR, "
        "key VARCHAR, operation VARCHAR, status VARCHAR, error VARCHAR, logged_at TIMESTAMPTZ)"
    )
    conn.execute(
        "CREATE TABLE test.purchases (person_id VARCHAR, occurred_at TIMESTAMPTZ, amount DOUBLE)"
    )
    events, sends, purchases = [], [], []
    for sync, segment in LINKS:
        members, holdout_share = (4000, 0.2) if segment != "tiny_holdout" else (400, 0.05)
        for n in range(members):
            person = f"{segment}:{n}"
            held_out = rng.random() < holdout_share
            entered = date(2026, 1, 1) + timedelta(days=rng.randrange(90))
            events.append((segment, person, "entered", held_out, entered))
            if rng.random() < 0.1:  # some leave, and come back: the first entry counts
                events.append((segment, person, "exited", held_out, entered + timedelta(days=3)))
                events.append((segment, person, "entered", held_out, entered + timedelta(days=9)))
            failed = not held_out and rng.random() < 0.05
            if not held_out:
                sends.append((sync, person, "failed" if failed else "succeeded"))
            treated = not held_out and not failed
            rate = BASE_CONVERSION + (
                PLANTED_CONVERSION if treated and sync == "win_back_emails" else 0.0
            )
            if rng.random() < rate:
                day = entered + timedelta(days=rng.randint(1, WINDOW))
                purchases.append((person, day, rng.expovariate(1 / MEAN_SPEND)))
            # Outside the window: before entering, and after it ended.
            purchases.append((person, entered - timedelta(days=2), 500.0))
            purchases.append((person, entered + timedelta(days=WINDOW + 1), 500.0))
    conn.executemany(
        "INSERT INTO segments.segment_membership_events VALUES (?, ?, ?, ?, ?, now(), 'r1')",
        events,
    )
    conn.executemany(
        "INSERT INTO activation.sync_log VALUES (?, 'r1', ?, ?, 'upsert', ?, NULL, now())",
        [(sync, person, person, status) for sync, person, status in sends],
    )
    conn.executemany("INSERT INTO test.purchases VALUES (?, ?, ?)", purchases)


@pytest.fixture(scope="module")
def lifts(tmp_path_factory):
    path: Path = tmp_path_factory.mktemp("lift") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        _generate(conn)
        measured = {lift.sync: lift for lift in measure_lift(conn, LINKS, PURCHASES, AS_OF, WINDOW)}
        write_lift(conn, list(measured.values()), AS_OF)
        stored = conn.execute(f"SELECT sync, sent, held_out FROM {LIFT_TABLE}").fetchall()
    return measured, stored


def test_the_planted_effect_lies_within_the_measured_interval(lifts):
    measured, _ = lifts
    lift = measured["win_back_emails"]
    difference, low, high = lift.conversion_lift
    assert low <= PLANTED_CONVERSION <= high
    assert low > 0  # the sample is large enough to tell
    # Revenue per member: the extra tenth of members converting spend about 50.
    _, low, high = lift.revenue_lift
    assert low <= PLANTED_CONVERSION * MEAN_SPEND <= high
    # Only the window counts: with the 500s outside it, revenue would be far higher.
    assert lift.sent.revenue < 3 * MEAN_SPEND * (BASE_CONVERSION + PLANTED_CONVERSION)


def test_a_campaign_without_effect_has_an_interval_around_zero(lifts):
    measured, _ = lifts
    _, low, high = measured["newsletter_offer"].conversion_lift
    assert low <= 0 <= high
    _, low, high = measured["newsletter_offer"].revenue_lift
    assert low <= 0 <= high


def test_members_whose_send_failed_are_in_neither_arm(lifts):
    measured, stored = lifts
    lift = measured["win_back_emails"]
    # About 4,000 members: a fifth held out, a twentieth of the rest failed.
    assert 700 < lift.held_out.members < 900
    assert 2900 < lift.sent.members < 3200
    assert lift.sent.members + lift.held_out.members < 4000
    assert sorted(stored) == sorted(
        (lift.sync, lift.sent.members, lift.held_out.members) for lift in measured.values()
    )


def test_a_holdout_too_small_to_tell_is_not_measurable(lifts):
    measured, _ = lifts
    assert measured["win_back_emails"].measurable
    assert not measured["tiny_holdout_sync"].measurable
