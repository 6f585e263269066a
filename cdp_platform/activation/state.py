"""Per-sync state and the sync log, in the warehouse.

`activation.sync_state` holds, per sync and key, the hash of the fields the
destination last accepted, the destination's own id for the record, and
whether the last attempt failed (so the next run retries it). It changes only
for rows the destination accepted, batch by batch, so a run stopped half-way
leaves exactly what was delivered. For a destination that can be read back,
each batch is also journaled as in flight (`in_flight_hash`) before it is sent,
so after a run killed outright the next run confirms those records with the
destination instead of sending them again. `activation.sync_log` (per the contract)
has a row for every record sent or skipped, with its status: `succeeded`,
`failed` (the destination refused it, or never got it), `unknown` (its batch
gave up after a failure the destination may have applied, such as a read
timeout: it may hold the record) or a `skipped_*` reason. Failed and unknown
records are both marked in the state, so the next run sends them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from cdp_platform.activation.plan import REMOVALS, Change, Known
from cdp_platform.resources.warehouse import transaction
from cdp_platform.tables.activation import SYNC_LOG, SYNC_STATE

STATE_TABLE = SYNC_STATE
LOG_TABLE = SYNC_LOG


@dataclass(frozen=True)
class Outcome:
    """What the destination said of one change."""

    change: Change
    accepted: bool
    error: str | None = None
    destination_id: str | None = None
    # Not accepted as far as we know, but maybe applied: never logged as failed.
    unknown: bool = False

    @property
    def status(self) -> str:
        if self.accepted:
            return "succeeded"
        return "unknown" if self.unknown else "failed"


def load_state(conn: duckdb.DuckDBPyConnection, sync: str) -> dict[str, Known]:
    rows = conn.execute(
        "SELECT key, person_id, accepted_hash, failed, destination_id, in_flight_hash "
        f"FROM {STATE_TABLE} WHERE sync = ?",
        [sync],
    ).fetchall()
    return {key: Known(person, *known) for key, person, *known in rows}


def mark_in_flight(conn: duckdb.DuckDBPyConnection, sync: str, changes: list[Change]) -> None:
    """Journal a batch as sent before it goes: its answer, recorded by `record_outcomes`,
    clears the mark; a mark left by a dead run makes the next one confirm first."""
    frame = pd.DataFrame(
        [{"key": c.key, "person_id": c.person_id, "hash": c.hash} for c in changes]
    )
    conn.register("_in_flight", frame)
    try:
        conn.execute(
            f"""INSERT INTO {STATE_TABLE}
                SELECT ?, key, person_id, NULL, NULL, false, NULL, now(), hash FROM _in_flight
                ON CONFLICT (sync, key) DO UPDATE SET in_flight_hash = excluded.in_flight_hash""",
            [sync],
        )
    finally:
        conn.unregister("_in_flight")


def record_outcomes(
    conn: duckdb.DuckDBPyConnection, sync: str, run_id: str, outcomes: list[Outcome]
) -> None:
    """Commit one batch: state for what was accepted or failed, and its log rows."""
    if not outcomes:
        return
    frame = pd.DataFrame(
        [
            {
                "key": o.change.key,
                "person_id": o.change.person_id,
                "operation": o.change.operation,
                "hash": o.change.hash,
                "accepted": o.accepted,
                "status": o.status,
                "error": o.error,
                "destination_id": o.destination_id or o.change.destination_id,
                "removing": o.change.operation in REMOVALS,
            }
            for o in outcomes
        ]
    )
    conn.register("_outcomes", frame)
    try:
        with transaction(conn):
            # Accepted removals leave the state; accepted sends record what the destination holds.
            conn.execute(
                f"""DELETE FROM {STATE_TABLE} WHERE sync = ? AND key IN (
                      SELECT key FROM _outcomes WHERE accepted AND removing)""",
                [sync],
            )
            conn.execute(
                f"""INSERT INTO {STATE_TABLE}
                    SELECT ?, key, person_id, hash, destination_id, false, NULL, now(), NULL
                    FROM _outcomes WHERE accepted AND NOT removing
                    ON CONFLICT (sync, key) DO UPDATE SET
                      person_id = excluded.person_id, accepted_hash = excluded.accepted_hash,
                      destination_id = coalesce(excluded.destination_id, sync_state.destination_id),
                      failed = false, last_error = NULL, updated_at = excluded.updated_at,
                      in_flight_hash = NULL""",
                [sync],
            )
            # Failures (and unknowns) keep what was accepted before and are sent again
            # next run: an unknown one may be held already, which upserts make harmless.
            conn.execute(
                f"""INSERT INTO {STATE_TABLE}
                    SELECT ?, key, person_id, NULL, destination_id, true, error, now(), NULL
                    FROM _outcomes WHERE NOT accepted
                    ON CONFLICT (sync, key) DO UPDATE SET
                      failed = true, last_error = excluded.last_error,
                      updated_at = excluded.updated_at, in_flight_hash = NULL""",
                [sync],
            )
            conn.execute(
                f"""INSERT INTO {LOG_TABLE}
                    SELECT ?, ?, person_id, key, operation, status, error, now()
                    FROM _outcomes""",
                [sync, run_id],
            )
    finally:
        conn.unregister("_outcomes")


def record_skipped(
    conn: duckdb.DuckDBPyConnection, sync: str, run_id: str, skipped: list[tuple[str, str, str]]
) -> None:
    """Log rows deliberately not sent (no consent, not in the destination)."""
    if not skipped:
        return
    frame = pd.DataFrame(skipped, columns=["key", "person_id", "status"])
    conn.register("_skipped", frame)
    try:
        conn.execute(
            f"""INSERT INTO {LOG_TABLE}
                SELECT ?, ?, person_id, key, 'skip', status, NULL, now() FROM _skipped""",
            [sync, run_id],
        )
    finally:
        conn.unregister("_skipped")


def sent_persons(conn: duckdb.DuckDBPyConnection, sync: str, persons: frozenset[str]) -> set[str]:
    """Which of `persons` the sync's log says it ever sent something of."""
    if not persons:
        return set()
    rows = conn.execute(
        f"""SELECT DISTINCT person_id FROM {LOG_TABLE}
            WHERE sync = ? AND operation <> 'skip' AND person_id IN (SELECT unnest(?))""",
        [sync, sorted(persons)],
    ).fetchall()
    return {person for (person,) in rows}
