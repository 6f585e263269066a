"""The landing sensor: a run per new or changed day file.

A file is new or changed when its size and modification time differ from
what the cursor last saw. Files the warehouse already loaded after their
last change (by `cdp run`, a backfill, an earlier run) are not requested
again, so turning the sensor on over a loaded landing zone queues nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb

from cdp_platform import settings
from cdp_platform.automation.jobs import ingest_sources_job
from cdp_platform.sources.landing import DayFile, list_day_files

# Bounded so a folder of years of history becomes many short ticks, not one
# tick that times out; the cursor carries the rest over.
MAX_RUNS_PER_TICK = 200

LoadTimes = dict[tuple[str, str], float]


class WarehouseBusy(Exception):
    """Another process holds the warehouse; look again on the next tick."""


def file_signature(day_file: DayFile) -> str:
    stat = day_file.path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def last_load_times(warehouse: Path) -> LoadTimes:
    """(source, day) -> when that partition was last written, in epoch seconds."""
    if not warehouse.exists():
        return {}
    try:
        conn = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as exc:  # a run is writing: DuckDB has one writer per file
        raise WarehouseBusy(str(exc)) from exc
    try:
        exists = conn.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE schema_name = 'sources' AND table_name = 'partition_loads'"
        ).fetchone()[0]
        if not exists:
            return {}
        rows = conn.execute(
            "SELECT source, strftime(partition_date, '%Y-%m-%d'), epoch(max(loaded_at)) "
            "FROM sources.partition_loads WHERE file IS NOT NULL GROUP BY 1, 2"
        ).fetchall()
    finally:
        conn.close()
    return {(source, day): float(at) for source, day, at in rows}


def plan_landing_runs(
    files: list[DayFile],
    cursor: dict[str, str],
    valid_days: set[str] | None = None,
    loaded: LoadTimes | None = None,
) -> tuple[list[dg.RunRequest], dict[str, str], list[str]]:
    """Run requests for files not yet seen with their current size and mtime.

    Returns the requests, the new cursor (label -> signature) and the labels
    skipped because their day is outside the partitions.
    """
    requests, skipped = [], []
    new_cursor = dict(cursor)
    loaded = loaded or {}
    for day_file in files:
        if len(requests) >= MAX_RUNS_PER_TICK:
            break
        signature = file_signature(day_file)
        if cursor.get(day_file.label) == signature:
            continue
        new_cursor[day_file.label] = signature
        if valid_days is not None and day_file.day not in valid_days:
            skipped.append(day_file.label)
            continue
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
    return requests, new_cursor, skipped


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
        files = list_day_files(settings.landing_dir())
        valid = set(partitions_def.get_partition_keys())
        requests, new_cursor, skipped = plan_landing_runs(files, cursor, valid, loaded)
        if skipped:
            context.log.warning(
                f"{len(skipped)} file(s) dated outside the partitions were skipped, "
                f"e.g. {skipped[0]}; set CDP_START_DATE to include them"
            )
        new_cursor_text = json.dumps(new_cursor, sort_keys=True)
        if not requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("no new or changed landing files"),
                cursor=new_cursor_text,
            )
        return dg.SensorResult(run_requests=requests, cursor=new_cursor_text)

    return landing_file_sensor
