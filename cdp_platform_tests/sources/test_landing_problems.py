"""Landing entries that cannot be loaded are skipped and named, never block the others.

Real files in a temporary landing folder; the scan, `cdp run`'s pipeline, the
source asset's metadata and the landing sensor are all run for real.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date

import dagster as dg
import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import PipelineError, landing_range, landing_warnings, run_pipeline
from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.landing import scan_landing
from cdp_platform.sources.partitions import daily_partitions
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.sources.samples import record, write_day_file

KNOWN = ", ".join(SOURCES)


def bad_entries(landing):
    """One of each kind of entry that cannot be loaded; returns label -> reason."""
    good = write_day_file(landing, "pos_loyalty", "2026-08-01", [record("pos_loyalty")])
    folder = landing / "pos_loyalty"
    (folder / "2026-13-45.csv").write_bytes(good.read_bytes())
    (folder / "data.csv").write_bytes(good.read_bytes())
    (folder / "2026-08-02.jsonl").write_text("{}\n")
    (folder / ".2026-08-03.csv.part").write_text("an upload in progress")  # left alone
    (landing / "foo").mkdir()
    (landing / "foo" / "2026-08-01.csv").write_bytes(good.read_bytes())
    (landing / "pos_loyality").mkdir()
    return {
        "foo": f"unknown source folder 'foo'; known: {KNOWN}",
        "pos_loyality": f"unknown source folder 'pos_loyality'; known: {KNOWN} "
        "(did you mean 'pos_loyalty'?)",
        "pos_loyalty/2026-08-02.jsonl": "wrong extension for pos_loyalty (expects .csv)",
        "pos_loyalty/2026-13-45.csv": "not a valid day: 2026-13-45",
        "pos_loyalty/data.csv": "not named YYYY-MM-DD.csv",
    }


def test_the_scan_returns_the_valid_files_and_each_problem_with_a_plain_reason(landing):
    expected = bad_entries(landing)
    scan = scan_landing(landing, daily_partitions().get_partition_keys())
    assert [(f.source, f.day) for f in scan.files] == [("pos_loyalty", "2026-08-01")]
    assert {p.label: p.reason for p in scan.problems} == expected
    assert all(p.path == landing / p.label for p in scan.problems)
    assert {p.label for p in scan.problems_of("pos_loyalty")} == {
        label for label in expected if label.startswith("pos_loyalty/")
    }


def test_days_outside_the_partitions_are_skipped_with_the_setting_that_would_load_them(
    landing, monkeypatch
):
    monkeypatch.setenv("CDP_START_DATE", "2026-08-02")
    for day in ("2026-08-01", "2026-08-02", "2099-01-01"):
        write_day_file(landing, "crm_contacts", day, [record("crm_contacts")])
    assert landing_range(landing) == ("2026-08-02", "2026-08-02")
    last = daily_partitions().get_partition_keys()[-1]  # today, UTC
    warnings = landing_warnings(landing)
    assert warnings == [
        f"{landing / 'crm_contacts' / '2026-08-01.csv'}: dated 2026-08-01, before the first "
        "daily partition 2026-08-02; set CDP_START_DATE=2026-08-01 (or earlier) to load it",
        f"{landing / 'crm_contacts' / '2099-01-01.csv'}: dated 2099-01-01, after the last "
        f"daily partition {last} (today, UTC); check the date: it loads once "
        "that day comes",
    ]


def test_only_unloadable_files_stop_the_run_naming_the_first(landing):
    (landing / "pos_loyalty").mkdir()
    (landing / "pos_loyalty" / "2026-13-45.csv").write_text("card_number\n1\n")
    with pytest.raises(PipelineError) as error:
        landing_range(landing)
    assert str(error.value) == (
        f"no loadable landing files in {landing}: 1 skipped, the first "
        f"{landing / 'pos_loyalty' / '2026-13-45.csv'}: not a valid day: 2026-13-45"
    )


def test_the_pipeline_loads_every_valid_file_and_warns_about_the_rest(landing, query):
    generate(landing.parent, persons=40, days=3, start=date(2026, 8, 1), seed=5)
    expected = bad_entries_beside_demo(landing)
    warnings = landing_warnings(landing)
    assert sorted(warnings) == sorted(f"{landing / label}: {r}" for label, r in expected.items())

    result = run_pipeline(build_definitions(), landing)
    assert result.success, [f for run in result.runs for f in run.failures]
    assert (result.first_day, result.last_day) == ("2026-08-01", "2026-08-03")
    files = {f for (f,) in query("SELECT DISTINCT _file FROM sources.pos_loyalty_raw")}
    assert files and all(f.startswith("pos_loyalty/2026-08-0") for f in files)
    assert query("SELECT count(*) FROM identity.person_id_map")[0][0] > 0


def bad_entries_beside_demo(landing):
    folder = landing / "pos_loyalty"
    some_day = sorted(folder.iterdir())[0]
    (folder / "2026-13-45.csv").write_bytes(some_day.read_bytes())
    (folder / "data.csv").write_bytes(some_day.read_bytes())
    (landing / "foo").mkdir()
    (landing / "foo" / "2026-08-01.csv").write_bytes(some_day.read_bytes())
    return {
        "foo": f"unknown source folder 'foo'; known: {KNOWN}",
        "pos_loyalty/2026-13-45.csv": "not a valid day: 2026-13-45",
        "pos_loyalty/data.csv": "not named YYYY-MM-DD.csv",
    }


def test_the_source_materialization_lists_the_files_it_ignored(landing, instance):
    bad_entries(landing)
    job = build_definitions().resolve_job_def("ingest_sources")
    subset = job.get_subset(asset_selection={dg.AssetKey("pos_loyalty")})
    result = subset.execute_in_process(instance=instance, partition_key="2026-08-01")
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 1  # the valid file still loaded
    assert metadata["files_ignored"].value == 3
    ignored = {row["file"]: row["reason"] for row in metadata_rows(metadata["ignored_files"])}
    assert {"pos_loyalty/2026-13-45.csv", "pos_loyalty/data.csv"} <= set(ignored)
    assert "wrong extension for pos_loyalty (expects .csv)" in ignored.values()
    shown = str(ignored)
    assert "Robert" not in shown and "07700" not in shown  # paths and reasons only


def sensor_tick(instance, cursor):
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("landing_file_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    context.log.addHandler(Collect())
    return sensor.evaluate_tick(context), warnings


def test_the_sensor_warns_once_per_problem_file_and_still_requests_the_valid_one(landing, instance):
    expected = bad_entries(landing)
    first, warnings = sensor_tick(instance, None)
    assert [(r.asset_selection[0].path[0], r.partition_key) for r in first.run_requests] == [
        ("pos_loyalty", "2026-08-01")
    ]
    assert sorted(warnings) == sorted(
        f"landing file not loaded: {landing / label}: {reason}"
        for label, reason in expected.items()
    )

    second, warnings = sensor_tick(instance, first.cursor)
    assert second.run_requests == [] and warnings == []

    # A problem file that changes is reported again; the others stay quiet.
    bad = landing / "pos_loyalty" / "data.csv"
    bad.write_text("card_number\n2\n")
    os.utime(bad, ns=(bad.stat().st_atime_ns, bad.stat().st_mtime_ns + 1_000_000_000))
    third, warnings = sensor_tick(instance, second.cursor)
    assert warnings == [f"landing file not loaded: {bad}: not named YYYY-MM-DD.csv"]


def test_a_day_skipped_for_its_date_is_requested_once_the_start_date_includes_it(
    landing, instance, monkeypatch
):
    monkeypatch.setenv("CDP_START_DATE", "2026-08-02")
    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    first, warnings = sensor_tick(instance, None)
    assert first.run_requests == []
    assert len(warnings) == 1 and "set CDP_START_DATE=2026-08-01" in warnings[0]
    assert json.loads(first.cursor)["crm_contacts/2026-08-01.csv"].startswith("ignored ")

    monkeypatch.setenv("CDP_START_DATE", "2026-08-01")
    second, warnings = sensor_tick(instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-08-01"]
    assert warnings == []
