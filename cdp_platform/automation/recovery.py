"""Runs whose process died: mark them failed and free the pool slots they held.

A run killed outright (`kill -9`, the out-of-memory killer, a lost machine)
never reports its end: it stays STARTED and keeps its `warehouse` pool slot,
and every later run would wait for that slot for ever. A run knows its process
in one of two ways: `cdp run` tags it with the host, pid and process start time
of the process executing it; a run launched from the UI or by the daemon on
this host records its worker's pid in its "Started process for run (pid: N)"
engine event. A run whose process is known to be gone is marked failed, with
the reason, and its slots are freed. A run on another host or of unknown
process is left alone: it may be alive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import dagster as dg
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

HOST_TAG = "cdp/host"
PID_TAG = "cdp/pid"
STARTED_TAG = "cdp/process_started"
_WORKER_STARTED = "Started process for run (pid: "


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def process_tags(pid: int | None = None) -> dict[str, str]:
    """Tags naming the process that executes a run, for `recover_dead_runs`."""
    pid = pid or os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    started = _process_start(pid)
    if started:
        tags[STARTED_TAG] = started
    return tags


def process_alive(pid: int, started: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process holds the pid: ours is gone
        return started is None
    if _is_zombie(pid):
        return False
    return started is None or _process_start(pid) in (None, started)


@dataclass(frozen=True)
class RunProcess:
    pid: int
    started: str | None


def run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunProcess | None:
    """The process executing `run` on this host, when it can be known."""
    tags = run.tags
    if PID_TAG in tags:
        if tags.get(HOST_TAG) != socket.gethostname():
            return None
        return RunProcess(int(tags[PID_TAG]), tags.get(STARTED_TAG))
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return None  # another launcher (Docker, k8s) runs workers elsewhere
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or not (event.message or "").startswith(_WORKER_STARTED):
            continue
        pid = event.event_specific_data.metadata.get("pid")
        if pid is not None and str(pid.value).isdigit():
            return RunProcess(int(pid.value), None)
    return None


def dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, RunProcess]]:
    """Runs in progress whose process is known to be gone, with that process."""
    found = []
    for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
        process = run_process(instance, run)
        if process is not None and not process_alive(process.pid, process.started):
            found.append((run, process))
    return found


def recover_dead_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Mark every dead run failed and free its pool slots; also free slots still held
    by runs that have ended. Returns the runs marked failed."""
    recovered = []
    for run, process in dead_runs(instance):
        recovered.append(run)
        instance.report_run_failed(
            run,
            message=f"The process executing this run (pid {process.pid}) is gone: it was "
            "killed or crashed. Marked failed and its pool slots freed.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        for run_id in holders:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return recovered


def pool_holders(instance: dg.DagsterInstance, pool: str, run_id: str) -> list[dg.DagsterRun]:
    """The other runs holding `pool` while `run_id` waits for it (empty: not waiting)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(pool)
    waiting = any(
        step.run_id == run_id and step.assigned_timestamp is None for step in info.pending_steps
    )
    if not waiting:
        return []
    holders = {slot.run_id for slot in info.claimed_slots if slot.run_id != run_id}
    return [run for run_id in sorted(holders) if (run := instance.get_run_by_id(run_id))]
