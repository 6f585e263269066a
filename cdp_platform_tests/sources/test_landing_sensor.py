"""The landing sensor's ticks and cursor, evaluated against real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg

from cdp_platform.definitions import build_definitions
from cdp_platform_tests.sources.samples import record, write_day_file


def tick(instance, cursor: str | None):
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("landing_file_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def test_sensor_is_on_by_default_and_targets_every_source():
    sensor = build_definitions().resolve_sensor_def("landing_file_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_new_files_request_one_run_per_source_and_day_then_nothing(landing, instance):
    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    write_day_file(landing, "web_events", "2026-08-01", [record("web_events")])
    write_day_file(landing, "web_events", "2026-08-02", [record("web_events")])
    (landing / "web_events" / "notes.txt").write_text("not a day file")

    first = tick(instance, None)
    requested = sorted((r.asset_selection[0].path[0], r.partition_key) for r in first.run_requests)
    assert requested == [
        ("crm_contacts", "2026-08-01"),
        ("web_events", "2026-08-01"),
        ("web_events", "2026-08-02"),
    ]
    assert all(r.run_key.startswith(f"{r.asset_selection[0].path[0]}/") for r in first.run_requests)
    cursor = json.loads(first.cursor)
    assert set(cursor) == {
        "crm_contacts/2026-08-01.csv",
        "web_events/2026-08-01.jsonl",
        "web_events/2026-08-02.jsonl",
        "web_events/notes.txt",  # warned about once, never requested
    }
    assert cursor["web_events/notes.txt"].startswith("ignored ")

    second = tick(instance, first.cursor)
    assert second.run_requests == []
    assert second.skip_message == "no new or changed landing files"


def test_a_changed_file_is_requested_again_with_a_new_run_key(landing, instance):
    path = write_day_file(landing, "pos_loyalty", "2026-08-01", [record("pos_loyalty")])
    first = tick(instance, None)
    (old_request,) = first.run_requests
    write_day_file(
        landing,
        "pos_loyalty",
        "2026-08-01",
        [record("pos_loyalty"), record("pos_loyalty", card_number="2")],
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = tick(instance, first.cursor)
    (new_request,) = second.run_requests
    assert new_request.partition_key == "2026-08-01"
    assert new_request.run_key != old_request.run_key
    assert tick(instance, second.cursor).run_requests == []


def test_files_dated_before_the_partitions_are_skipped_not_requested(
    landing, instance, monkeypatch
):
    monkeypatch.setenv("CDP_START_DATE", "2026-08-02")
    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    write_day_file(landing, "crm_contacts", "2026-08-02", [record("crm_contacts")])
    result = tick(instance, None)
    assert [r.partition_key for r in result.run_requests] == ["2026-08-02"]
    assert "crm_contacts/2026-08-01.csv" in json.loads(result.cursor)


def test_requested_run_loads_that_file(landing, instance, query):
    write_day_file(landing, "support_tickets", "2026-08-01", [record("support_tickets")])
    (request,) = tick(instance, None).run_requests
    job = build_definitions().resolve_job_def("ingest_sources")
    result = job.get_subset(asset_selection=set(request.asset_selection)).execute_in_process(
        instance=instance, partition_key=request.partition_key
    )
    assert result.success
    assert query("SELECT source_record_id FROM sources.support_tickets") == [("501",)]


def test_files_already_loaded_are_not_requested_until_they_change(landing, instance):
    path = write_day_file(landing, "pos_transactions", "2026-08-01", [record("pos_transactions")])
    write_day_file(landing, "pos_transactions", "2026-08-02", [record("pos_transactions")])
    os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))
    job = build_definitions().resolve_job_def("ingest_sources")
    subset = job.get_subset(asset_selection={dg.AssetKey("pos_transactions")})
    assert subset.execute_in_process(instance=instance, partition_key="2026-08-01").success

    first = tick(instance, None)
    assert [r.partition_key for r in first.run_requests] == ["2026-08-02"]
    assert "pos_transactions/2026-08-01.csv" in json.loads(first.cursor)

    write_day_file(
        landing, "pos_transactions", "2026-08-01", [record("pos_transactions", receipt_id="R-9")]
    )
    second = tick(instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-08-01"]


def test_a_busy_warehouse_skips_the_tick_and_keeps_the_cursor(landing, instance):
    write_day_file(landing, "pos_loyalty", "2026-08-01", [record("pos_loyalty")])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, os.environ["CDP_WAREHOUSE"]],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = tick(instance, '{"x": "1"}')
    finally:
        holder.kill()
        holder.wait()
    assert result.run_requests == []
    assert result.cursor == '{"x": "1"}'
    assert "busy" in result.skip_message


# Another process writing the warehouse, as a run does.
HOLD_WRITE_LOCK = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""
