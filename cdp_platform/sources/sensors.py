"""The landing sensor: a run per new or changed day file."""

from __future__ import annotations

import json

import dagster as dg

from cdp_platform import settings
from cdp_platform.automation.jobs import ingest_sources_job
from cdp_platform.sources.landing import DayFile, list_day_files

# Bounded so a folder of years of history becomes many short ticks, not one
# tick that times out; the cursor carries the rest over.
MAX_RUNS_PER_TICK = 200


def file_signature(day_file: DayFile) -> str:
    stat = day_file.path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def plan_landing_runs(
    files: list[DayFile], cursor: dict[str, str], valid_days: set[str] | None = None
) -> tuple[list[dg.RunRequest], dict[str, str], list[str]]:
    """Run requests for files not yet seen with their current size and mtime.

    Returns the requests, the new cursor (label -> signature) and the labels
    skipped because their day is outside the partitions.
    """
    requests, skipped = [], []
    new_cursor = dict(cursor)
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
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_file_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        files = list_day_files(settings.landing_dir())
        valid = set(partitions_def.get_partition_keys(dynamic_partitions_store=None))
        requests, new_cursor, skipped = plan_landing_runs(files, cursor, valid)
        if skipped:
            context.log.warning(
                f"{len(skipped)} file(s) dated outside the partitions were skipped, "
                f"e.g. {skipped[0]}; set CDP_START_DATE to include them"
            )
        if not requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason("no new or changed landing files"),
                cursor=json.dumps(new_cursor, sort_keys=True),
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))

    return landing_file_sensor
