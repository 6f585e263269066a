"""Shared by the end-to-end tests: one `dagster dev` over a generated landing zone,
a backfill of the sources launched through GraphQL, and automation left to do the rest."""

from __future__ import annotations

from datetime import date

import pytest

from cdp_platform.demo.generator import generate
from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.landing import list_day_files
from cdp_platform_tests.e2e.dagster_dev import start_dagster_dev, stop_dagster_dev

START = date(2026, 8, 1)
DAYS = 4

ASSET_NODES = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }
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
UNFINISHED = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}


@pytest.fixture(scope="package")
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


@pytest.fixture(scope="package")
def dagster_dev(workspace):
    root, env = workspace
    dev = start_dagster_dev(root / "dagster_home", env, root / "dagster_dev.log")
    try:
        dev.wait_until("the code location", lambda: dev.graphql(ASSET_NODES)["assetNodes"], 180)
        yield dev
    finally:
        stop_dagster_dev(dev)


@pytest.fixture(scope="package")
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
        return status if status != "REQUESTED" else None

    backfill_status = dagster_dev.wait_until("the backfill", backfill_done, 600)

    def all_materialized_and_quiet():
        nodes = dagster_dev.graphql(ASSET_NODES)["assetNodes"]
        busy = [r for r in dagster_dev.runs() if r["status"] in UNFINISHED]
        return all(node["assetMaterializations"] for node in nodes) and not busy

    dagster_dev.wait_until("automation to materialize every asset", all_materialized_and_quiet, 900)
    return {"backfill_id": backfill_id, "backfill_status": backfill_status, "days": days}
