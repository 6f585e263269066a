"""End to end through the real webserver and daemon (`dagster dev`).

A backfill of every source over the demo's days is launched through the
GraphQL API, as the UI's "Materialize" dialog does. Nothing else is
started by hand: the daily-refresh schedule (ticking every minute here)
rebuilds identity, privacy and profiles once the loads are done, and the
automation sensor then materializes every segment and sync.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from cdp_platform.demo.generator import generate
from cdp_platform.sources.contracts import SOURCES
from cdp_platform.sources.landing import list_day_files
from cdp_platform_tests.e2e.dagster_dev import DagsterDev, start_dagster_dev, stop_dagster_dev

START = date(2026, 8, 1)
DAYS = 4
LOCATION = {"repositoryName": "__repository__", "repositoryLocationName": "cdp_platform"}

ASSET_NODES = """
{ assetNodes { assetKey { path } groupName
    assetMaterializations(limit: 1) { runId } } }
"""
LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL_STATUS = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}
"""
RUNS = """
{ runsOrError { ... on Runs { results {
    runId jobName status tags { key value } assetSelection { path } } } } }
"""
INSTIGATORS = """
query ($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    ... on Sensors { results { name sensorState { status } } } }
  schedulesOrError(repositorySelector: $repo) {
    ... on Schedules { results { name scheduleState { status } } } }
}
"""
UNFINISHED = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    generate(root, persons=120, days=DAYS, start=START, seed=7)
    env = {
        "CDP_LANDING_DIR": str(root / "landing"),
        "CDP_WAREHOUSE": str(root / "warehouse.duckdb"),
        "CDP_ALERTS_FILE": str(root / "alerts.jsonl"),
        # History is loaded by the backfill below, not file by file.
        "CDP_LANDING_SENSOR": "off",
        # The daily refresh looks every minute, so the test need not wait a day.
        "CDP_DAILY_REFRESH_CRON": "* * * * *",
    }
    return root, env


@pytest.fixture(scope="module")
def dagster_dev(workspace):
    root, env = workspace
    dev = start_dagster_dev(root / "dagster_home", env, root / "dagster_dev.log")
    try:
        dev.wait_until("the code location", lambda: dev.graphql(ASSET_NODES)["assetNodes"], 180)
        yield dev
    finally:
        stop_dagster_dev(dev)


def runs(dev: DagsterDev) -> list[dict]:
    return dev.graphql(RUNS)["runsOrError"]["results"]


def materialized_keys(dev: DagsterDev) -> dict[str, str]:
    """Asset key -> group, for every asset with a materialization."""
    return {
        "/".join(node["assetKey"]["path"]): node["groupName"]
        for node in dev.graphql(ASSET_NODES)["assetNodes"]
        if node["assetMaterializations"]
    }


@pytest.fixture(scope="module")
def automated_pipeline(workspace, dagster_dev):
    """Backfill the sources over the demo's days, then wait for automation to finish."""
    root, _ = workspace
    days = sorted({f.day for f in list_day_files(root / "landing")})
    launched = dagster_dev.graphql(
        LAUNCH_BACKFILL,
        params={
            "assetSelection": [{"path": [name]} for name in SOURCES],
            "partitionNames": days,
            "title": "e2e history",
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def backfill_done():
        status = dagster_dev.graphql(BACKFILL_STATUS, id=backfill_id)
        status = status["partitionBackfillOrError"]["status"]
        return status if status not in ("REQUESTED",) else None

    backfill_status = dagster_dev.wait_until("the backfill", backfill_done, 600)
    every_asset = {
        "/".join(n["assetKey"]["path"]) for n in dagster_dev.graphql(ASSET_NODES)["assetNodes"]
    }

    def all_materialized_and_quiet():
        done = set(materialized_keys(dagster_dev))
        busy = [r for r in runs(dagster_dev) if r["status"] in UNFINISHED]
        return done == every_asset and not busy

    dagster_dev.wait_until("automation to materialize every asset", all_materialized_and_quiet, 900)
    return {"backfill_id": backfill_id, "backfill_status": backfill_status, "days": days}


def test_instigators_are_on_by_default_except_the_switched_off_landing_sensor(dagster_dev):
    states = dagster_dev.graphql(INSTIGATORS, repo=LOCATION)
    sensors = {s["name"]: s["sensorState"]["status"] for s in states["sensorsOrError"]["results"]}
    schedules = {
        s["name"]: s["scheduleState"]["status"] for s in states["schedulesOrError"]["results"]
    }
    assert sensors == {
        "default_automation_condition_sensor": "RUNNING",
        "landing_file_sensor": "STOPPED",
        "run_failure_alert_sensor": "RUNNING",
    }
    assert schedules == {
        "daily_refresh_schedule": "RUNNING",
        "weekly_identity_model_retrain": "RUNNING",
    }


def test_a_graphql_backfill_then_automation_builds_every_layer(workspace, automated_pipeline):
    root, _ = workspace
    assert automated_pipeline["backfill_status"] == "COMPLETED_SUCCESS"

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
        loads = set(
            conn.execute(
                "SELECT source, strftime(partition_date, '%Y-%m-%d') FROM sources.partition_loads"
            ).fetchall()
        )
        on_disk = {(f.source, f.day) for f in list_day_files(root / "landing")}
        assert on_disk <= loads  # every landing file's day was loaded by the backfill
        persons = conn.execute(
            "SELECT count(DISTINCT person_id) FROM identity.person_id_map"
        ).fetchone()[0]
        profiles = conn.execute("SELECT count(*) FROM profiles.golden_profiles").fetchone()[0]
        assert profiles == persons > 50
        segments = dict(
            conn.execute(
                "SELECT segment, count(*) FROM segments.segment_memberships GROUP BY 1"
            ).fetchall()
        )
        sent = conn.execute(
            "SELECT count(DISTINCT sync) FROM activation.sync_log WHERE status = 'succeeded'"
        ).fetchone()[0]
    assert segments  # evaluated by the automation run, after the refresh
    assert sent >= 1
    assert not (root / "alerts.jsonl").exists()  # no run failed, so no alert


def test_each_layer_ran_in_the_run_its_automation_launched(dagster_dev, automated_pipeline):
    all_runs = runs(dagster_dev)
    assert {r["status"] for r in all_runs} == {"SUCCESS"}
    by_kind: dict[str, list[dict]] = {}
    for run in all_runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        if tags.get("dagster/backfill") == automated_pipeline["backfill_id"]:
            kind = "backfill"
        elif tags.get("dagster/schedule_name") == "daily_refresh_schedule":
            kind = "daily_refresh"
        elif tags.get("dagster/sensor_name") == "default_automation_condition_sensor":
            kind = "automation"
        else:
            kind = f"other: {run['jobName']} {tags}"
        by_kind.setdefault(kind, []).append(run)
    assert set(by_kind) == {"backfill", "daily_refresh", "automation"}, set(by_kind)
    assert len(by_kind["backfill"]) == 1  # single-run backfill: one writer, one run
    assert len(by_kind["daily_refresh"]) == 1  # one refresh for one state of the loads
    automated = {
        "/".join(key["path"]) for run in by_kind["automation"] for key in run["assetSelection"]
    }
    assert {k for k in automated if k.startswith("segments/")} and {
        k for k in automated if k.startswith("activation/")
    }
    assert all(k.startswith(("segments/", "activation/")) for k in automated)
