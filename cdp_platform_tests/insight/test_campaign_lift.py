"""Campaign lift measured on generated data with a planted effect.

The generator writes the warehouse tables lift reads (membership events, the
sync log, web-shop orders and the person map) and draws each member's orders:
a fifth of people buy within a month of entering a segment, spending about 50.
For the members the `win_back_emails` sync sent, a planted effect raises that
to three in ten; `retention_ads_audience` has no effect. Orders before
entering and after the window, and members whose send failed, must not count."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from cdp_platform.insight.assets import LIFT_CHECK, campaign_lift, measured_links
from cdp_platform.insight.lift import LIFT_TABLE, measure_lift, write_lift
from cdp_platform.profiles.activity import activity_sql
from cdp_platform.resources.warehouse import WarehouseResource, connect, create_declared_tables

AS_OF = "2026-06-01"
WINDOW = 30
BASE_CONVERSION = 0.20
PLANTED_CONVERSION = 0.10  # win_back_emails only
MEAN_SPEND = 50.0
LINKS = [
    ("win_back_emails", "lapsed_customers"),
    ("retention_ads_audience", "high_value_at_risk"),
    ("tiny_holdout_sync", "tiny_holdout"),
]
# The platform's own purchases: web-shop orders through the person map.
PURCHASES = activity_sql("purchases", AS_OF, {"shop_orders"})


def _generate(conn: duckdb.DuckDBPyConnection, seed: int = 11) -> None:
    rng = random.Random(seed)
    create_declared_tables(conn)
    conn.execute(
        "CREATE TABLE sources.shop_orders (source_record_id VARCHAR, _partition_date DATE, "
        "_line INTEGER, created_at TIMESTAMPTZ, total DECIMAL(18, 2), currency VARCHAR, "
        "financial_status VARCHAR)"
    )
    conn.execute(
        f"INSERT INTO sources.partition_loads BY NAME SELECT DATE '{AS_OF}' AS partition_date"
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
    orders = [(f"#{n}", person, day, amount) for n, (person, day, amount) in enumerate(purchases)]
    tables = {
        "segments.segment_membership_events": pd.DataFrame(
            [(*event, None, "r1") for event in events],
            columns=["segment", "person_id", "event", "holdout", "as_of", "occurred_at", "run_id"],
        ),
        "activation.sync_log": pd.DataFrame(
            [
                (sync, "r1", person, person, "upsert", status, None, None)
                for sync, person, status in sends
            ],
            columns=[
                "sync",
                "run_id",
                "person_id",
                "key",
                "operation",
                "status",
                "error",
                "logged_at",
            ],
        ),
        "sources.shop_orders": pd.DataFrame(
            [
                (order, day, 1, day, round(amount, 2), "GBP", "paid")
                for order, _, day, amount in orders
            ],
            columns=["id", "d", "l", "c", "t", "cur", "fs"],
        ),
        "identity.person_id_map": pd.DataFrame(
            [("shop_orders", order, person) for order, person, _, _ in orders],
            columns=["source", "source_record_id", "person_id"],
        ),
    }
    for table, frame in tables.items():
        conn.register("frame", frame)
        conn.execute(f"INSERT INTO {table} SELECT * FROM frame")
        conn.unregister("frame")


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
    _, low, high = measured["retention_ads_audience"].conversion_lift
    assert low <= 0 <= high
    _, low, high = measured["retention_ads_audience"].revenue_lift
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


def test_the_asset_measures_every_shipped_sync_of_a_held_out_segment(tmp_path):
    """`campaign_lift` materialized on the generated warehouse: the shipped syncs
    that send a segment with a holdout are measured, the planted effect found."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        _generate(conn)
    assert set(measured_links()) == set(LINKS[:2])
    result = dg.materialize(
        [campaign_lift], resources={"warehouse": WarehouseResource(database=str(path))}
    )
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == LIFT_CHECK and check.passed
    [materialization] = result.asset_materializations_for_node("campaign_lift")
    assert materialization.metadata["as_of"].value == AS_OF
    assert "conversion_lift_win_back_emails" in materialization.metadata
    with duckdb.connect(str(path), read_only=True) as conn:
        low, high = conn.execute(
            f"SELECT conversion_lift_low, conversion_lift_high FROM {LIFT_TABLE} "
            "WHERE sync = 'win_back_emails'"
        ).fetchone()
    assert low <= PLANTED_CONVERSION <= high


def test_nothing_is_measured_before_segments_and_syncs_have_run(tmp_path):
    no_purchases = (
        "SELECT NULL::VARCHAR AS person_id, NULL::TIMESTAMPTZ AS occurred_at, "
        "NULL::DECIMAL(18,2) AS amount WHERE false"
    )
    with connect(tmp_path / "warehouse.duckdb") as conn:
        assert measure_lift(conn, LINKS, no_purchases, AS_OF, WINDOW) == []
