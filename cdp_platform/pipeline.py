"""Run the whole asset graph: what `cdp run` does.

Partitioned source assets run as one run over the range of days present in
the landing folder (a single-run backfill); the unpartitioned layers below
them then run once. Each run executes in a supervised child process
(`automation/supervisor.py`), so a signal always stops it and a run that died
before never blocks it. Runs go to the Dagster instance under `DAGSTER_HOME`
when it is set, created with the origin of the code location `workspace.yaml`
loads, so the UI lists them under their jobs as if launched there.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.events import DagsterEvent
from dagster._core.execution.api import create_execution_plan, execute_run_iterator
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.utils import make_new_run_id

from cdp_platform import settings
from cdp_platform.automation.jobs import ingest_sources_job, refresh_downstream_job
from cdp_platform.automation.recovery import process_tags
from cdp_platform.automation.supervisor import RunAbandoned, run_supervised
from cdp_platform.sources.landing import LandingScan, scan_landing
from cdp_platform.sources.partitions import daily_partitions


class PipelineError(Exception):
    """A problem that stops `cdp run` before anything runs."""


@dataclass
class StepTiming:
    """How long one Dagster step took, and the asset group it belongs to."""

    step: str
    group: str | None
    seconds: float


@dataclass
class StepProgress:
    """A step of a `cdp run` run starting or ending, as it happens."""

    job: str
    step: str  # the asset's name, for a step of one asset
    group: str | None
    state: str  # "started", "done" or "failed"
    elapsed: float  # seconds since `cdp run` started
    seconds: float | None = None  # the step's own duration, when it ended
    rows: int | None = None  # rows the step's assets hold (dagster/row_count), when done


@dataclass
class RunOutcome:
    job: str
    run_id: str
    success: bool
    failures: list[str] = field(default_factory=list)
    steps: list[StepTiming] = field(default_factory=list)
    abandoned: bool = False  # gave up before its steps ran to their end


@dataclass
class PipelineResult:
    first_day: str
    last_day: str
    runs: list[RunOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)


def scan_landing_zone(landing: Path) -> LandingScan:
    """The loadable day files and the problem entries, against the daily partitions."""
    return scan_landing(landing, daily_partitions().get_partition_keys())


def landing_warnings(landing: Path) -> list[str]:
    """One `<path>: <reason>` line per landing entry that `cdp run` will not load
    (bad name, wrong extension, unknown folder, day outside the partitions)."""
    return [str(problem) for problem in scan_landing_zone(landing).problems]


def landing_range(landing: Path, scan: LandingScan | None = None) -> tuple[str, str]:
    """The first and last day of the loadable day files (of `scan`, when the caller
    has scanned already); entries that cannot be loaded are skipped here
    (`landing_warnings` names them), never block the rest."""
    scan = scan or scan_landing_zone(landing)
    if not scan.files:
        if scan.problems:
            raise PipelineError(
                f"no loadable landing files in {landing}: {len(scan.problems)} skipped, "
                f"the first {scan.problems[0]}"
            )
        raise PipelineError(
            f"no landing files in {landing}; generate a demo set with `cdp demo generate`"
        )
    days = sorted(f.day for f in scan.files)
    return days[0], days[-1]


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


# `dagster._core.errors.DagsterSomethingError: ` or `pkg.module.WarehouseUnavailable: `
_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+(?:Error|Exception|Failure)|(?:[a-z_]\w*\.)+[A-Z]\w*): ")


def _failures(events: list[DagsterEvent]) -> list[str]:
    """One line per problem: `step: message` (a multi-line message gives several);
    steps that failed for the same reason share one line."""
    by_line: dict[str, list[str]] = {}
    for event in events:
        if not event.is_step_failure:
            continue
        error = event.step_failure_data.error
        if error is None:
            by_line.setdefault("failed", []).append(event.step_key)
            continue
        text = _EXCEPTION_PREFIX.sub("", (error.cause or error).message.strip())
        for line in text.splitlines():
            if line.strip():
                by_line.setdefault(line.lstrip("- ").strip(), []).append(event.step_key)
    return [f"{', '.join(dict.fromkeys(steps))}: {line}" for line, steps in by_line.items()]


STEP_STATES = {
    dg.DagsterEventType.STEP_START: "started",
    dg.DagsterEventType.STEP_SUCCESS: "done",
    dg.DagsterEventType.STEP_FAILURE: "failed",
}


class _ProgressOf:
    """`StepProgress` from a run's events as they come, and each ended step's
    duration and group (`timings`)."""

    def __init__(self, job: str, groups: dict, started: float):
        self.job, self.groups, self.started = job, groups, started
        # A step of one asset is named after its key (`segments__lapsed_customers`).
        self.assets = {key.to_python_identifier(): key for key in groups}
        # step -> (asset, partition) -> its last row count: a backfill's days each
        # carry their own, and the step's rows are their sum
        self.rows: dict[str, dict[tuple[dg.AssetKey, str | None], int]] = {}
        # step -> the group of the first asset it materialized or checked
        self.step_groups: dict[str, str | None] = {}
        self.timings: list[StepTiming] = []

    def __call__(self, event: DagsterEvent) -> StepProgress | None:
        step = event.step_key
        if step is None:
            return None
        if event.is_step_materialization:
            self.step_groups.setdefault(step, self.groups.get(event.asset_key))
            materialization = event.event_specific_data.materialization
            rows = materialization.metadata.get("dagster/row_count")
            if rows is not None:
                key = (event.asset_key, materialization.partition)
                self.rows.setdefault(step, {})[key] = int(rows.value)
            return None
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            key = event.event_specific_data.asset_key
            self.step_groups.setdefault(step, self.groups.get(key))
            return None
        state = STEP_STATES.get(event.event_type)
        if state is None:
            return None
        asset = self.assets.get(step)
        group = self.step_groups.get(step, self.groups.get(asset))
        seconds = None
        if event.is_step_success:
            seconds = event.event_specific_data.duration_ms / 1000
            self.timings.append(StepTiming(step, group, seconds))
        rows = self.rows.get(step)
        return StepProgress(
            self.job,
            asset.path[-1] if asset else step,
            group,
            state,
            time.monotonic() - self.started,
            seconds,
            sum(rows.values()) if state == "done" and rows else None,
        )


def _job_origin(job_name: str) -> RemoteJobOrigin:
    """Where the UI finds `job_name`: the code location workspace.yaml loads. A run
    that carries it is listed under its job, as a run launched from the UI is."""
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=settings.DEFINITIONS_MODULE,
            attribute="defs",
        ),
        location_name=settings.CODE_LOCATION,
    )
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), job_name)


def _execute_here(
    job: dg.JobDefinition,
    run_id: str,
    tags: dict,
    log_level: str,
    groups: dict,
    progress: Callable[[StepProgress], None],
    started: float,
) -> RunOutcome:
    """Execute `job` in this process (the supervised child), tagged with its pid;
    `progress` hears each step start and end."""
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    with _instance() as instance:
        run = instance.create_run_for_job(
            job,
            execution_plan=create_execution_plan(job, run_config=run_config),
            run_id=run_id,
            run_config=run_config,
            tags={**job.run_tags, **tags, **process_tags()},
            remote_job_origin=_job_origin(job.name),
        )
        failed, progress_of = [], _ProgressOf(job.name, groups, started)
        for event in execute_run_iterator(InMemoryJob(job), run, instance):
            if event.is_step_failure:
                failed.append(event)
            step = progress_of(event)
            if step is not None:
                progress(step)
        finished = instance.get_run_by_id(run_id)
    return RunOutcome(
        job.name,
        run_id,
        finished is not None and finished.status == dg.DagsterRunStatus.SUCCESS,
        _failures(failed),
        progress_of.timings,
    )


def _execute(
    job: dg.JobDefinition,
    tags: dict,
    log_level: str,
    groups: dict,
    notify: Callable[[str], None],
    progress: Callable[[StepProgress], None],
    started: float,
) -> RunOutcome:
    """One run in a supervised child process: dead runs before it are recovered, a
    wait for the warehouse is bounded, and a signal stops it (`RunStopped`)."""
    run_id = make_new_run_id()
    persistent = _instance() if os.environ.get("DAGSTER_HOME") else None
    try:
        return run_supervised(
            lambda: _execute_here(job, run_id, tags, log_level, groups, progress, started),
            run_id=run_id,
            instance=persistent,
            wait_seconds=settings.warehouse_wait_seconds(),
            notify=notify,
        )
    except RunAbandoned as exc:
        return RunOutcome(job.name, run_id, False, [str(exc)], abandoned=True)
    finally:
        if persistent is not None:
            persistent.dispose()


def run_pipeline(
    defs: dg.Definitions,
    landing: Path,
    log_level: str = "CRITICAL",
    notify: Callable[[str], None] = lambda _message: None,
    progress: Callable[[StepProgress], None] = lambda _step: None,
) -> PipelineResult:
    """Load every landing day present, then refresh the layers below the sources.

    `notify` hears what the user should know while it runs (a landing entry it
    skips, a run waiting for the warehouse, a dead run recovered); `progress`
    hears each step start and end (from the run's process: it must write
    where the user sees it, not keep state). Raises `RunStopped` on SIGINT or
    SIGTERM."""
    started = time.monotonic()
    scan = scan_landing_zone(landing)
    for problem in scan.problems:
        notify(f"warning: {problem}")
    first, last = landing_range(landing, scan)
    outcome = PipelineResult(first, last)
    graph = defs.resolve_asset_graph()
    groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    ingest = defs.resolve_job_def(ingest_sources_job.name)
    days = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }
    outcome.runs.append(_execute(ingest, days, log_level, groups, notify, progress, started))
    if outcome.runs[-1].abandoned:  # the next run would meet the same obstacle
        return outcome
    downstream = defs.resolve_job_def(refresh_downstream_job.name)
    if downstream.asset_layer.executable_asset_keys:  # empty until later layers exist
        outcome.runs.append(_execute(downstream, {}, log_level, groups, notify, progress, started))
    return outcome
