"""Execute a run in a child process that the command line can always stop.

Dagster's in-process execution captures SIGINT and SIGTERM and, while a step
waits for a pool slot, never looks at them again: a run queued behind a slot
that is never freed would wait for ever and ignore Ctrl-C. So `cdp run` forks
a child per run and supervises it from the parent:

- before and while the child runs, runs whose process died are marked failed
  and their pool slots freed (`recovery.recover_dead_runs`);
- while the child waits for the pool, the parent says which run holds it, and
  gives up after `wait_seconds` with an error naming that run;
- SIGINT or SIGTERM to the parent interrupts the child (a step in progress
  stops as Dagster stops it), then kills it if it does not end within
  `STOP_GRACE_SECONDS`; the run is marked failed and its slots freed;
- the child dies with the parent (`kill -9` of `cdp run` leaves no orphan
  writing the warehouse).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

import dagster as dg

from cdp_platform.automation.recovery import pool_holders, recover_dead_runs

T = TypeVar("T")
POOL = "warehouse"
STOP_GRACE_SECONDS = 15.0
CHECK_SECONDS = 2.0
NOTIFY_EVERY_SECONDS = 60.0


class RunStopped(Exception):
    """The command was interrupted (SIGINT or SIGTERM); the run was stopped."""


class RunAbandoned(Exception):
    """The run could not go on (it waited too long, or its process died)."""


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); elsewhere,
    watch the parent from a thread."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.prctl(1, signal.SIGKILL) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except OSError:
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _child(work: Callable[[], T], conn, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        conn.send(("ok", work()))
    except BaseException as exc:  # reported to the parent, which decides what to say
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()
        sys.stdout.flush()
        sys.stderr.flush()


class _Signals:
    """SIGINT and SIGTERM noted, not raised, while a child runs."""

    def __init__(self):
        self.received: int | None = None

    @contextmanager
    def catching(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def note(signum, _frame):
            self.received = signum

        for signum in previous:
            signal.signal(signum, note)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _stop(process: multiprocessing.Process) -> None:
    if process.is_alive():
        os.kill(process.pid, signal.SIGINT)
        process.join(STOP_GRACE_SECONDS)
    if process.is_alive():
        process.kill()
        process.join()


def _fail_run(instance: dg.DagsterInstance | None, run_id: str, message: str) -> None:
    if instance is None:
        return
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, message=message)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def run_supervised(
    work: Callable[[], T],
    *,
    run_id: str,
    instance: dg.DagsterInstance | None,
    wait_seconds: float,
    notify: Callable[[str], None] = lambda _message: None,
) -> T:
    """`work()` in a forked child; returns what it returns. `instance` is the
    persistent instance the run is recorded in (None: an ephemeral one, which no
    other process shares, so there is nothing to recover or wait for)."""
    if instance is not None:
        _recover(instance, notify)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(
        target=_child, args=(work, sender, os.getpid()), daemon=False
    )
    signals = _Signals()
    with signals.catching():
        # The child must never collect what it inherited: a DuckDB database made in
        # this process would, on collection there, join worker threads the child
        # does not have and hang. Frozen objects are left alone by the collector.
        gc.freeze()
        try:
            process.start()
        finally:
            gc.unfreeze()
        sender.close()
        waiting_since: float | None = None
        notified_at = 0.0
        checked_at = time.monotonic()
        while True:
            if receiver.poll(0.5):
                try:
                    answer = receiver.recv()
                except EOFError:
                    answer = None
                process.join()
                break
            if not process.is_alive():
                answer = None
                break
            if signals.received is not None:
                name = signal.Signals(signals.received).name
                _stop(process)
                _fail_run(instance, run_id, f"Stopped by {name} to `cdp run`.")
                raise RunStopped(f"stopped by {name}; run {run_id[:8]} marked failed")
            if instance is None or time.monotonic() - checked_at < CHECK_SECONDS:
                continue
            checked_at = time.monotonic()
            _recover(instance, notify)
            holders = pool_holders(instance, POOL, run_id)
            if not holders:
                waiting_since = None
                continue
            now = time.monotonic()
            waiting_since = waiting_since or now
            held_by = ", ".join(f"run {r.run_id[:8]} ({r.job_name})" for r in holders)
            if now - waiting_since > wait_seconds:
                _stop(process)
                message = (
                    f"gave up after {wait_seconds:g}s waiting for the {POOL} pool, held by "
                    f"{held_by}; stop that run or raise CDP_WAREHOUSE_WAIT_SECONDS"
                )
                _fail_run(instance, run_id, message)
                raise RunAbandoned(message)
            if now - notified_at >= NOTIFY_EVERY_SECONDS:
                notified_at = now
                notify(f"run {run_id[:8]} is waiting for the {POOL} pool, held by {held_by}")
    if answer is None:
        message = f"the run's process ended without a result (exit code {process.exitcode})"
        _fail_run(instance, run_id, message)
        raise RunAbandoned(message)
    if answer[0] == "error":
        raise RunAbandoned(answer[1])
    return answer[1]


def _recover(instance: dg.DagsterInstance, notify: Callable[[str], None]) -> None:
    for run in recover_dead_runs(instance):
        notify(
            f"run {run.run_id[:8]} ({run.job_name}) had died without ending; "
            "marked failed and its pool slots freed"
        )
