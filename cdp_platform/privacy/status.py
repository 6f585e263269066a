"""Where each erasure stands: `privacy.request_status`, one row per request and target.

Targets are `warehouse` and every sync that ever sent the subject somewhere.
Status: `pending` (the sync has not run since the erasure), `done`, or
`failed` (retried by the next run of that sync). A sync marks its part done once the destination accepted the
deletion of every record it held for the subject; only then does it drop the
subject's rows from its state and log, which the contract wants empty of them.
"""

from __future__ import annotations

import duckdb

from cdp_platform.tables.activation import SYNC_LOG, SYNC_STATE
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS

STATUS_TABLE = "privacy.request_status"
SUBJECTS_TABLE = PRIVACY_SUBJECTS


def ensure_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS privacy")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {STATUS_TABLE} (
              request_id VARCHAR, target VARCHAR, status VARCHAR, detail VARCHAR,
              updated_at TIMESTAMPTZ, PRIMARY KEY (request_id, target))"""
    )


def set_status(
    conn: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, str | None]]
) -> None:
    """Upsert (request_id, target, status, detail) rows."""
    if not rows:
        return
    ensure_table(conn)
    conn.executemany(
        f"""INSERT INTO {STATUS_TABLE} VALUES (?, ?, ?, ?, now())
            ON CONFLICT (request_id, target) DO UPDATE SET status = excluded.status,
              detail = excluded.detail, updated_at = excluded.updated_at""",
        [list(row) for row in rows],
    )


def erased_persons(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """person_id -> the DELETE request that erased them."""
    return dict(
        conn.execute(
            f"SELECT person_id, request_id FROM {SUBJECTS_TABLE} WHERE status = 'erased'"
        ).fetchall()
    )


# The erased subjects as rows, from two list parameters (persons, requests).
_ERASED = "SELECT unnest(?::VARCHAR[]) AS person_id, unnest(?::VARCHAR[]) AS request_id"


def settle_sync_erasures(
    conn: duckdb.DuckDBPyConnection, sync: str, erased: dict[str, str]
) -> dict[str, int]:
    """After a sync run: mark each erased subject it ever sent `done` (nothing of theirs
    left in its state) or `failed`, and drop the done ones from its state and log."""
    if not erased:
        return {}
    rows = conn.execute(
        f"""SELECT e.person_id, e.request_id, count(s.key) AS left_over,
                   any_value(s.last_error) AS error
            FROM ({_ERASED}) e
            LEFT JOIN {SYNC_STATE} s ON s.sync = ? AND s.person_id = e.person_id
            WHERE e.person_id IN (SELECT person_id FROM {SYNC_LOG} WHERE sync = ?)
               OR s.key IS NOT NULL
            GROUP BY ALL ORDER BY 1""",
        [list(erased), list(erased.values()), sync, sync],
    ).fetchall()
    set_status(
        conn,
        [
            (request, f"sync:{sync}", "done" if left == 0 else "failed", error)
            for _, request, left, error in rows
        ],
    )
    done = [person for person, _, left, _ in rows if left == 0]
    conn.execute(
        f"DELETE FROM {SYNC_LOG} WHERE sync = ? AND person_id IN (SELECT unnest(?))",
        [sync, done],
    )
    return {"erasures_done": len(done), "erasures_failed": len(rows) - len(done)}


def pending_sync_erasures(
    conn: duckdb.DuckDBPyConnection, erased: dict[str, str]
) -> list[tuple[str, str, str, None]]:
    """(request, `sync:<name>`, `pending`, None) for each sync still holding an erased
    subject, so the status says what is left to do before the syncs run."""
    if not erased:
        return []
    rows = conn.execute(
        f"""SELECT DISTINCT e.request_id, 'sync:' || s.sync FROM {SYNC_STATE} s
            JOIN ({_ERASED}) e USING (person_id) ORDER BY 1, 2""",
        [list(erased), list(erased.values())],
    ).fetchall()
    return [(request, target, "pending", None) for request, target in rows]
