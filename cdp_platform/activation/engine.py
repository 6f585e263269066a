"""The sync engine: send a plan to a destination, and remember what it accepted.

Changes go out in batches of the destination's size, one operation per batch,
at most `max_concurrency` requests in flight and no faster than the client-side
rate limit of the destination's account. A batch that fails for a passing
reason (429, 5xx, timeout, dropped connection) is retried with exponential
backoff and jitter, after `Retry-After` when the destination gives one; a
batch refused as a whole is split in halves until the records to blame are
alone. Each batch carries an idempotency key derived from its content, so a
retried batch is recognisable as the same one. State is committed batch by
batch, in this thread, only for what the destination accepted; a dry run plans
and counts and sends nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import duckdb
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from cdp_platform.activation.destinations.base import (
    BatchRejected,
    Destination,
    DestinationDisabled,
    TransientError,
)
from cdp_platform.activation.plan import Change, Plan, Row, plan_changes
from cdp_platform.activation.state import (
    Outcome,
    load_state,
    record_outcomes,
    record_skipped,
)


class RateLimiter:
    """Requests evenly spaced at `per_second`, shared by every thread that holds it."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


_LIMITERS: dict[tuple[str, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(destination: Destination) -> RateLimiter:
    """One limiter per destination account, whichever syncs send to it."""
    key = (destination.account, destination.limits.requests_per_second)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(destination.limits.requests_per_second)
        return _LIMITERS[key]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_seconds: float = 0.5
    max_seconds: float = 30.0


@dataclass
class SyncReport:
    planned: dict[str, int] = field(default_factory=dict)
    # (operation, status) -> records
    results: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    requests: int = 0
    dry_run: bool = False
    disabled: str | None = None

    @property
    def sent(self) -> int:
        return sum(n for (_, status), n in self.results.items() if status == "succeeded")

    @property
    def failed(self) -> int:
        return sum(n for (_, status), n in self.results.items() if status == "failed")


def idempotency_key(sync: str, operation: str, changes: list[Change]) -> str:
    content = "\n".join(f"{c.key}\t{c.hash}" for c in sorted(changes, key=lambda c: c.key))
    return hashlib.sha256(f"{sync}\n{operation}\n{content}".encode()).hexdigest()[:32]


def batches(plan: Plan, size: int) -> list[tuple[str, list[Change]]]:
    by_operation: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_operation.setdefault(change.operation, []).append(change)
    return [
        (operation, changes[i : i + size])
        for operation, changes in by_operation.items()
        for i in range(0, len(changes), size)
    ]


class _Delivery:
    """Sends one batch with retries and bisection; returns an outcome per change."""

    def __init__(self, sync: str, destination: Destination, policy: RetryPolicy, report):
        self.sync = sync
        self.destination = destination
        self.policy = policy
        self.limiter = limiter_for(destination)
        self.report = report
        self._lock = threading.Lock()

    def _wait(self, state) -> float:
        error = state.outcome.exception()
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_seconds)
        backoff = wait_exponential_jitter(
            multiplier=self.policy.initial_seconds, max=self.policy.max_seconds
        )
        return backoff(state)

    def _send(self, operation: str, changes: list[Change]):
        key = idempotency_key(self.sync, operation, changes)
        for attempt in Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            reraise=True,
        ):
            with attempt:
                self.limiter.acquire()
                with self._lock:
                    self.report.requests += 1
                return self.destination.send(operation, changes, key)
        raise AssertionError("unreachable")  # pragma: no cover

    def deliver(self, operation: str, changes: list[Change]) -> list[Outcome]:
        try:
            results = self._send(operation, changes)
        except TransientError as exc:
            return [Outcome(c, False, f"gave up after retries: {exc}") for c in changes]
        except BatchRejected as exc:
            if len(changes) == 1:
                return [Outcome(changes[0], False, str(exc))]
            middle = len(changes) // 2
            return self.deliver(operation, changes[:middle]) + self.deliver(
                operation, changes[middle:]
            )
        by_key = {r.key: r for r in results}
        outcomes = []
        for change in changes:
            result = by_key.get(change.key)
            if result is None:
                outcomes.append(Outcome(change, False, "no result for this record"))
            else:
                outcomes.append(
                    Outcome(change, result.accepted, result.error, result.destination_id)
                )
        return outcomes


def run_sync(
    conn: duckdb.DuckDBPyConnection,
    sync: str,
    mode: str,
    rows: list[Row],
    destination: Destination,
    run_id: str,
    dry_run: bool = False,
    full_resync: bool = False,
    policy: RetryPolicy | None = None,
    erased: frozenset[str] = frozenset(),
) -> SyncReport:
    """Plan `rows` against the sync's state and deliver the changes to `destination`.

    `full_resync` forgets what was accepted and sends every row again; removals
    cannot be computed then (the destination may hold records the state no
    longer knows), so nothing is removed by that run."""
    state = {} if full_resync else load_state(conn, sync)
    if full_resync:
        mode = {"mirror": "upsert", "remove": "add"}.get(mode, mode)
    plan = plan_changes(mode, rows, state, erased)
    report = SyncReport(planned=plan.counts(), dry_run=dry_run)
    if dry_run:
        return report
    record_skipped(conn, sync, run_id, plan.skipped)
    for _, _, status in plan.skipped:
        report.results[("skip", status)] += 1
    delivery = _Delivery(sync, destination, policy or RetryPolicy(), report)
    work = batches(plan, destination.limits.batch_size)
    accepted = _Acknowledgements(conn, sync, run_id, report)
    try:
        _deliver_all(work, delivery, destination.limits.max_concurrency, accepted, report)
    finally:
        accepted.flush()  # whatever happens, what the destination took is on record
    return report


class _Acknowledgements:
    """Outcomes waiting to be written: flushed every `FLUSH_SECONDS` or `FLUSH_RECORDS`,
    at the end, and before any error leaves the run. A process killed outright can
    lose at most that window, whose records the next run sends again, unchanged."""

    FLUSH_SECONDS = 0.5
    FLUSH_RECORDS = 5000

    def __init__(self, conn, sync: str, run_id: str, report: SyncReport):
        self.conn, self.sync, self.run_id, self.report = conn, sync, run_id, report
        self.pending: list[Outcome] = []
        self.flushed_at = time.monotonic()

    def add(self, outcomes: list[Outcome]) -> None:
        self.pending.extend(outcomes)
        for outcome in outcomes:
            status = "succeeded" if outcome.accepted else "failed"
            self.report.results[(outcome.change.operation, status)] += 1
            if outcome.error:
                self.report.errors[outcome.error] += 1
        due = time.monotonic() - self.flushed_at >= self.FLUSH_SECONDS
        if due or len(self.pending) >= self.FLUSH_RECORDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            # Written here, in the caller's thread: DuckDB connections are not shared.
            record_outcomes(self.conn, self.sync, self.run_id, self.pending)
            self.pending = []
        self.flushed_at = time.monotonic()


def _deliver_all(work, delivery: _Delivery, concurrency: int, accepted, report) -> None:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending = set()
        queue = iter(work)
        while True:
            while len(pending) < concurrency * 2:
                item = next(queue, None)
                if item is None:
                    break
                pending.add(pool.submit(delivery.deliver, *item))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    outcomes = future.result()
                except DestinationDisabled as exc:
                    report.disabled = str(exc)
                    _drain((done - {future}) | pending, accepted)
                    return
                except Exception:
                    _drain((done - {future}) | pending, accepted)
                    raise
                accepted.add(outcomes)
                done = done - {future}


def _drain(pending: set, accepted: _Acknowledgements) -> None:
    """Stop sending: cancel what has not started, and keep the outcomes of the
    batches already in flight, which the destination may well have taken."""
    for waiting in pending:
        waiting.cancel()
    for finished in wait(pending).done:
        if not finished.cancelled() and finished.exception() is None:
            accepted.add(finished.result())
