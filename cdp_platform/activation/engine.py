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

Exactly-once in effect, under slow destinations:
- the read timeout is generous (see `destinations/base.py`), so a slow success
  is answered, not re-sent;
- after a read timeout the destination may still be applying the batch: the
  retry waits longer (`RetryPolicy.after_read_timeout_seconds`), carries the
  same idempotency key, and read timeouts are retried fewer times
  (`read_timeout_attempts`), since each one may cost a full timeout;
- a batch that gives up after a failure that may have been applied (a read
  timeout, a connection dropped after sending) is logged `unknown`, not
  `failed`: the destination may hold it. The state marks it for sending again
  next run, which upserts and idempotency keys make harmless;
- a batch whose later attempt is accepted is logged from that answer alone:
  earlier failed attempts of it never mark a record failed;
- acknowledgements are written at least every `FLUSH_SECONDS` while batches are
  in flight (the engine waits on them with a timeout that ends at the next
  flush), so a process killed outright re-sends at most that window.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import duckdb
from tenacity import wait_exponential_jitter

from cdp_platform.activation.destinations.base import (
    BatchRejected,
    Destination,
    DestinationDisabled,
    ItemResult,
    TransientError,
)
from cdp_platform.activation.plan import REMOVALS, Change, Known, Plan, Row, plan_changes
from cdp_platform.activation.state import (
    Outcome,
    load_state,
    mark_in_flight,
    record_outcomes,
    record_skipped,
    sent_persons,
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
    # After a read timeout the destination may still be working on the batch: wait
    # at least this long before sending it again, and give up after this many.
    after_read_timeout_seconds: float = 10.0
    read_timeout_attempts: int = 3


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

    @property
    def unknown(self) -> int:
        """Records whose batch gave up after a failure the destination may have applied."""
        return sum(n for (_, status), n in self.results.items() if status == "unknown")


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


class GaveUp(Exception):
    """A batch's retries ran out; `maybe_applied` if any attempt may have reached it;
    `confirmed`: results of the records the destination was found to hold already."""

    def __init__(self, last: TransientError, maybe_applied: bool, confirmed: list[ItemResult] = ()):
        super().__init__(str(last))
        self.last = last
        self.maybe_applied = maybe_applied
        self.confirmed = list(confirmed)


class _Delivery:
    """Sends one batch with retries and bisection; returns an outcome per change."""

    def __init__(self, sync: str, destination: Destination, policy: RetryPolicy, report):
        self.sync = sync
        self.destination = destination
        self.policy = policy
        self.limiter = limiter_for(destination)
        self.report = report
        self._lock = threading.Lock()
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_seconds, max=policy.max_seconds, jitter=policy.initial_seconds
        )

    def _wait(self, error: TransientError, number: int) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.policy.max_seconds)
        backoff = self._backoff(_Attempt(number))
        if error.read_timeout:
            return max(backoff, self.policy.after_read_timeout_seconds)
        return backoff

    def confirmed(self, operation: str, changes: list[Change]) -> list[ItemResult]:
        """What a destination that can be read back already holds of a batch whose
        answer was lost; empty when it cannot tell (then the batch is sent again)."""
        confirm = getattr(self.destination, "confirm", None)
        if confirm is None:
            return []
        self.limiter.acquire()
        with self._lock:
            self.report.requests += 1
        try:
            return [r for r in confirm(operation, changes) if r.accepted]
        except (TransientError, BatchRejected):
            return []

    def _send(self, operation: str, changes: list[Change]):
        """The destination's answer to the batch, retried with one key; raises `GaveUp`.

        A hand-written loop around tenacity's backoff: the stop and the wait depend
        on what each failure was (a read timeout is retried later and fewer times).
        After a failure that may have been applied, a destination that can be read
        back (`confirm`) is asked first, and only what it does not hold is sent again."""
        pending, confirmed = changes, []
        key = idempotency_key(self.sync, operation, pending)
        maybe_applied = False
        read_timeouts = 0
        for number in itertools.count(1):
            self.limiter.acquire()
            with self._lock:
                self.report.requests += 1
            try:
                return confirmed + self.destination.send(operation, pending, key)
            except TransientError as error:
                maybe_applied = maybe_applied or error.maybe_applied
                read_timeouts += error.read_timeout
                if (
                    number >= self.policy.attempts
                    or read_timeouts >= self.policy.read_timeout_attempts
                ):
                    raise GaveUp(error, maybe_applied, confirmed) from error
                time.sleep(self._wait(error, number))
                if error.maybe_applied:
                    held = self.confirmed(operation, pending)
                    if held:
                        confirmed += held
                        done = {r.key for r in held}
                        pending = [c for c in pending if c.key not in done]
                        if not pending:
                            return confirmed
                        key = idempotency_key(self.sync, operation, pending)
        raise AssertionError("unreachable")  # pragma: no cover

    def deliver(self, operation: str, changes: list[Change]) -> list[Outcome]:
        try:
            results = self._send(operation, changes)
        except GaveUp as gave_up:
            held = {r.key: r for r in gave_up.confirmed}
            accepted = [
                Outcome(c, True, None, held[c.key].destination_id) for c in changes if c.key in held
            ]
            changes = [c for c in changes if c.key not in held]
            if gave_up.maybe_applied:
                # The destination may hold these: not a failure we can claim. The state
                # marks them for the next run, which sends them again (idempotently).
                error = f"unknown after retries, may have been applied: {gave_up.last}"
                return accepted + [Outcome(c, False, error, unknown=True) for c in changes]
            error = f"gave up after retries: {gave_up.last}"
            return accepted + [Outcome(c, False, error) for c in changes]
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


@dataclass(frozen=True)
class _Attempt:
    """The one field of tenacity's retry state its wait functions read."""

    attempt_number: int


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
    accepted = _Acknowledgements(conn, sync, run_id, report)
    # A destination that can be read back is journaled, so that what a dead run had
    # in flight is confirmed there rather than sent again.
    accepted.journal = getattr(destination, "confirm", None) is not None
    try:
        if accepted.journal:
            plan.changes = _confirm_in_flight(plan.changes, state, delivery, accepted)
        work = batches(plan, destination.limits.batch_size)
        _deliver_all(work, delivery, destination.limits.max_concurrency, accepted, report)
    finally:
        accepted.flush()  # whatever happens, what the destination took is on record
    forget = getattr(destination, "forget", None)
    if forget is not None and erased:
        # A destination that keeps history (a file export) may hold an erased person
        # the state no longer knows: one who left a mirror before asking to be erased.
        erasing = {c.person_id for c in plan.changes if c.person_id in erased}
        untracked = sent_persons(conn, sync, erased) - erasing
        if untracked:
            forget(untracked)
    return report


def _confirm_in_flight(
    changes: list[Change], state: dict[str, Known], delivery: _Delivery, accepted
) -> list[Change]:
    """Ask the destination which of the sends a dead run had in flight it already holds
    as sent; those are on record as accepted, the rest are planned as before."""
    suspects = [
        c
        for c in changes
        if c.operation not in REMOVALS
        and (known := state.get(c.key)) is not None
        and known.in_flight_hash == c.hash
    ]
    held: dict[str, ItemResult] = {}
    size = delivery.destination.limits.batch_size
    for operation in dict.fromkeys(c.operation for c in suspects):
        mine = [c for c in suspects if c.operation == operation]
        for start in range(0, len(mine), size):
            held.update(
                {r.key: r for r in delivery.confirmed(operation, mine[start : start + size])}
            )
    accepted.add(
        [Outcome(c, True, None, held[c.key].destination_id) for c in changes if c.key in held]
    )
    return [c for c in changes if c.key not in held]


class _Acknowledgements:
    """Outcomes waiting to be written: flushed at least every `FLUSH_SECONDS` while
    batches are in flight (the caller waits on them until `seconds_to_flush()`), at
    `FLUSH_RECORDS`, at the end, and before any error leaves the run. A process killed
    outright loses at most that window, whose records the next run sends again,
    unchanged (the destination holds them already: upserts and idempotency keys
    make that harmless), or, for a destination that can be read back, confirms
    there first (`journal`: each batch marked in flight before it goes)."""

    FLUSH_SECONDS = 0.5
    FLUSH_RECORDS = 5000

    def __init__(self, conn, sync: str, run_id: str, report: SyncReport):
        self.conn, self.sync, self.run_id, self.report = conn, sync, run_id, report
        self.pending: list[Outcome] = []
        self.flushed_at = time.monotonic()
        self.flushes = 0
        self.journal = False  # mark each batch in flight before it goes

    def mark_in_flight(self, operation: str, changes: list[Change]) -> None:
        if self.journal and operation not in REMOVALS:
            mark_in_flight(self.conn, self.sync, changes)

    def add(self, outcomes: list[Outcome]) -> None:
        self.pending.extend(outcomes)
        for outcome in outcomes:
            self.report.results[(outcome.change.operation, outcome.status)] += 1
            if outcome.error:
                self.report.errors[outcome.error] += 1
        if len(self.pending) >= self.FLUSH_RECORDS:
            self.flush()

    def seconds_to_flush(self) -> float | None:
        """How long the caller may wait before the next flush is due; None: no hurry."""
        if not self.pending:
            return None
        return max(0.0, self.FLUSH_SECONDS - (time.monotonic() - self.flushed_at))

    def flush_if_due(self) -> None:
        if self.pending and time.monotonic() - self.flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            # Written here, in the caller's thread: DuckDB connections are not shared.
            record_outcomes(self.conn, self.sync, self.run_id, self.pending)
            self.pending = []
            self.flushes += 1
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
                accepted.mark_in_flight(*item)  # in this thread, before it can land
                pending.add(pool.submit(delivery.deliver, *item))
            if not pending:
                return
            # Wake for the first batch done or the next flush, whichever comes first:
            # a slow batch in flight must not hold back the others' acknowledgements.
            done, pending = wait(
                pending, timeout=accepted.seconds_to_flush(), return_when=FIRST_COMPLETED
            )
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
            accepted.flush_if_due()


def _drain(pending: set, accepted: _Acknowledgements) -> None:
    """Stop sending: cancel what has not started, and keep the outcomes of the
    batches already in flight, which the destination may well have taken."""
    for waiting in pending:
        waiting.cancel()
    pending = {f for f in pending if not f.cancelled()}
    while pending:
        done, pending = wait(
            pending, timeout=accepted.seconds_to_flush(), return_when=FIRST_COMPLETED
        )
        for finished in done:
            if finished.exception() is None:
                accepted.add(finished.result())
        accepted.flush_if_due()
