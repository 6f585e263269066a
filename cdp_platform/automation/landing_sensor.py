"""The landing sensor: a run per new or changed day file.

A file is new or changed when its size and modification time differ from
what the cursor last saw. Files the warehouse already loaded after their
last change (by `cdp run`, a backfill, an earlier run) are not requested
again, so turning the sensor on over a loaded landing zone queues nothing.
An entry that cannot be loaded (bad name, wrong extension, unknown folder,
day outside the partitions) is logged as a warning once per size and mtime
(kept in the cursor as `ignored <signature>`), and never holds up the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from cdp_platform import settings
from cdp_platform.automation.jobs import ingest_sources_job
from cdp_platform.resources.warehouse import WarehouseUnavailable, connect
from cdp_platform.sources.landing import DayFile, LandingProblem, scan_landing
from cdp_platform.tables.sources import PARTITION_LOADS

# Bounded so a folder of years of history becomes many short ticks, not one
# tick that times out; the cursor carries the rest over.
MAX_RUNS_PER_TICK = 200
MAX_WARNINGS_PER_TICK = 50
IGNORED = "ignored "

LoadTimes = dict[tuple[str, str], float]


class WarehouseBusy(Exception):
    """Another process holds the warehouse; look again on the next tick."""


def file_signature(path: Path) -> str:
    """A file's size and modification time: it changed when this did."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def last_load_times(warehouse: Path) -> LoadTimes:
    """(source, day) -> when that partition was last written, in epoch seconds."""
    if not warehouse.exists():
        return {}
    try:
        with connect(warehouse, read_only=True, wait_seconds=0) as conn:
            rows = conn.execute(
                "SELECT source, strftime(partition_date, '%Y-%m-%d'), epoch(max(loaded_at)) "
                f"FROM {PARTITION_LOADS} WHERE file IS NOT NULL GROUP BY 1, 2"
            ).fetchall()
    except WarehouseUnavailable as exc:  # a run is writing: DuckDB has one writer per file
        raise WarehouseBusy(str(exc)) from exc
    return {(source, day): float(at) for source, day, at in rows}


def plan_landing_runs(
    files: list[DayFile],
    cursor: dict[str, str],
    loaded: LoadTimes | None = None,
) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """Run requests for files not yet seen with their current size and mtime.

    Returns the requests and the new cursor (label -> signature).
    """
    requests = []
    new_cursor = dict(cursor)
    loaded = loaded or {}
    for day_file in files:
        if len(requests) >= MAX_RUNS_PER_TICK:
            break
        signature = file_signature(day_file.path)
        if cursor.get(day_file.label) == signature:
            continue
        new_cursor[day_file.label] = signature
        loaded_at = loaded.get((day_file.source, day_file.day))
        if loaded_at is not None and loaded_at >= day_file.path.stat().st_mtime:
            continue  # loaded after its last change
        requests.append(
            dg.RunRequest(
                run_key=f"{day_file.label}:{signature}",
                asset_selection=[dg.AssetKey(day_file.source)],
                partition_key=day_file.day,
                tags={"cdp/landing_file": day_file.label},
            )
        )
    return requests, new_cursor


def plan_problem_warnings(
    problems: list[LandingProblem], cursor: dict[str, str]
) -> tuple[list[LandingProblem], dict[str, str]]:
    """The problems not yet warned about at their current size and mtime, and the new cursor.

    The cursor keeps `ignored <signature>` for them, never a load signature, so
    a file that becomes loadable (CDP_START_DATE moved back) is requested then.
    """
    new, new_cursor = [], dict(cursor)
    for problem in problems:
        if len(new) >= MAX_WARNINGS_PER_TICK:
            break
        try:
            signature = IGNORED + file_signature(problem.path)
        except OSError:  # gone since the scan
            continue
        if cursor.get(problem.label) != signature:
            new_cursor[problem.label] = signature
            new.append(problem)
    return new, new_cursor


def build_landing_sensor(partitions_def: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_file_sensor",
        description=(
            "Watches the landing folders and requests a run of the source and day "
            "for every new or changed day file (keyed by path, size and mtime)."
        ),
        job=ingest_sources_job,
        minimum_interval_seconds=30,
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if settings.landing_sensor_on()
            else dg.DefaultSensorStatus.STOPPED
        ),
    )
    def landing_file_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        try:
            loaded = last_load_times(settings.warehouse_path())
        except WarehouseBusy:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("the warehouse is busy; looking again next tick"),
                cursor=context.cursor,
            )
        scan = scan_landing(settings.landing_dir(), partitions_def.get_partition_keys())
        requests, new_cursor = plan_landing_runs(scan.files, cursor, loaded)
        problems, new_cursor = plan_problem_warnings(scan.problems, new_cursor)
        for problem in problems:  # paths and reasons only, never file contents
            context.log.warning(f"landing file not loaded: {problem}")
        new_cursor_text = json.dumps(new_cursor, sort_keys=True)
        if not requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("no new or changed landing files"),
                cursor=new_cursor_text,
            )
        return dg.SensorResult(run_requests=requests, cursor=new_cursor_text)

    return landing_file_sensor
