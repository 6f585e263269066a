"""When the daily refresh should run: after ingestion has landed something new.

The schedule ticks daily; a tick runs the refresh only when a source was
loaded after the last refresh and no load is still queued or running, so a
day without new files costs nothing and a refresh never reads half a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

# Runs that have not finished: queued ones count, or the refresh would start
# between two queued loads of the same day.
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
# What the refresh rebuilds last: when it is newer than every load, nothing is new.
REFRESH_MARKER = dg.AssetKey("golden_profiles")


@dataclass(frozen=True)
class IngestionState:
    last_load: float | None  # latest source materialization, epoch seconds
    last_refresh: float | None  # latest materialization of the refresh marker
    loads_unfinished: int  # source loads queued or running
    refreshes_unfinished: int = 0  # refreshes queued or running


def refresh_skip_reason(state: IngestionState) -> str | None:
    """None when the refresh should run, else why not."""
    if state.refreshes_unfinished:
        return "a refresh is already queued or running"
    if state.loads_unfinished:
        return f"{state.loads_unfinished} source load(s) still queued or running"
    if state.last_load is None:
        return "no source has been loaded yet"
    if state.last_refresh is not None and state.last_refresh >= state.last_load:
        return "nothing loaded since the last refresh"
    return None


def ingestion_state(
    instance: dg.DagsterInstance, source_keys: Iterable[dg.AssetKey], refresh_job: str
) -> IngestionState:
    sources = set(source_keys)
    # One read of the asset records gives every latest materialization.
    latest = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization.timestamp
        for record in instance.get_asset_records([*sources, REFRESH_MARKER])
        if record.asset_entry.last_materialization
    }
    unfinished = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED))
    return IngestionState(
        last_load=max((latest[key] for key in sources if key in latest), default=None),
        last_refresh=latest.get(REFRESH_MARKER),
        loads_unfinished=sum(1 for run in unfinished if (run.asset_selection or set()) & sources),
        # A schedule's run key dedupes only within one tick, so look for the run itself.
        refreshes_unfinished=sum(
            1
            for run in unfinished
            if run.job_name == refresh_job or REFRESH_MARKER in (run.asset_selection or set())
        ),
    )
