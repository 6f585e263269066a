"""End to end through the real webserver and daemon (`dagster dev`).

A backfill of every source over the demo's days is launched through the
GraphQL API, as the UI's "Materialize" dialog does. Nothing else is
started by hand: the automation sensor rebuilds identity, privacy and
profiles once the loads are done (their daily condition ticking every minute
here), and every segment, sync and the campaign lift after them.
"""

from __future__ import annotations

import duckdb

from cdp_platform.sources.landing import list_day_files

ASSET_GROUPS = "{ assetNodes { assetKey { path } groupName } }"
LOCATION = {"repositoryName": "__repository__", "repositoryLocationName": "cdp_platform"}

INSTIGATORS = """
query ($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    ... on Sensors { results { name sensorState { status } } } }
  schedulesOrError(repositorySelector: $repo) {
    ... on Schedules { results { name scheduleState { status } } } }
}
"""


def test_instigators_are_on_by_default_except_the_switched_off_landing_sensor(dagster_dev):
    states = dagster_dev.graphql(INSTIGATORS, repo=LOCATION)
    sensors = {s["name"]: s["sensorState"]["status"] for s in states["sensorsOrError"]["results"]}
    schedules = {
        s["name"]: s["scheduleState"]["status"] for s in states["schedulesOrError"]["results"]
    }
    assert sensors == {
        "dead_run_sensor": "RUNNING",
        "default_automation_condition_sensor": "RUNNING",
        "landing_file_sensor": "STOPPED",
        "run_failure_alert_sensor": "RUNNING",
    }
    assert schedules == {"weekly_identity_model_retrain": "RUNNING"}


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
    all_runs = dagster_dev.runs()
    assert {r["status"] for r in all_runs} == {"SUCCESS"}
    by_kind: dict[str, list[dict]] = {}
    for run in all_runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        if tags.get("dagster/backfill") == automated_pipeline["backfill_id"]:
            kind = "backfill"
        elif tags.get("dagster/sensor_name") == "default_automation_condition_sensor":
            kind = "automation"
        else:
            kind = f"other: {run['jobName']} {tags}"
        by_kind.setdefault(kind, []).append(run)
    assert set(by_kind) == {"backfill", "automation"}, set(by_kind)
    assert len(by_kind["backfill"]) == 1  # single-run backfill: one writer, one run
    selections = [
        {"/".join(key["path"]) for key in run["assetSelection"]} for run in by_kind["automation"]
    ]
    # One refresh for one state of the loads, though the condition ticked every minute.
    assert sum("identity_records" in selection for selection in selections) == 1
    # Every asset below the sources, and only those, is automation's to run.
    below_sources = {
        "/".join(node["assetKey"]["path"])
        for node in dagster_dev.graphql(ASSET_GROUPS)["assetNodes"]
        if node["groupName"] != "sources"
    }
    assert set().union(*selections) == below_sources
