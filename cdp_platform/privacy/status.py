"""Where each erasure stands: `privacy.request_status`, one row per request and target.

Targets are `warehouse` and every sync that ever sent the subject somewhere.
Status: `pending` (the sync has not run since the erasure), `done`, or
`failed` (retried by the next run of that sync). A sync marks its part done once the destination accepted the
deletion of every record it held for the subject; only then does it drop the
subject's rows from its state and log, which the contract wants empty of them.
"""

from __future__ import annotations

import duckdb

STATUS_TABLE = "privacy.request_status"
SUBJECTS_TABLE = "privacy.subjects"


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
    for request_id, target, status, detail in rows:
        conn.execute(
            f"""INSERT INTO {STATUS_TABLE} VALUES (?, ?, ?, ?, now())
                ON CONFLICT (request_id, target) DO UPDATE SET status = excluded.status,
                  detail = excluded.detail, updated_at = excluded.updated_at""",
            [request_id, target, status, detail],
        )


def erased_persons(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """person_id -> the DELETE request that erased them."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'privacy' "
        "AND table_name = 'subjects'"
    ).fetchone()[0]
    if not exists:
        return {}
    return dict(
        conn.execute(
            f"SELECT person_id, request_id FROM {SUBJECTS_TABLE} WHERE status = 'erased'"
        ).fetchall()
    )


def settle_sync_erasures(
    conn: duckdb.DuckDBPyConnection, sync: str, erased: dict[str, str]
) -> dict[str, int]:
    """After a sync run: mark each erased subject it ever sent `done` (nothing of theirs
    left in its state) or `failed`, and drop the done ones from its state and log."""
    if not erased:
        return {}
    conn.register("_erased_now", _frame(erased))
    try:
        rows = conn.execute(
            """SELECT e.person_id, e.request_id,
                       (SELECT count(*) FROM activation.sync_state s
                        WHERE s.sync = ? AND s.person_id = e.person_id) AS left_over,
                       (SELECT any_value(last_error) FROM activation.sync_state s
                        WHERE s.sync = ? AND s.person_id = e.person_id) AS error
                FROM _erased_now e
                WHERE e.person_id IN (SELECT person_id FROM activation.sync_log WHERE sync = ?)
                   OR e.person_id IN (SELECT person_id FROM activation.sync_state WHERE sync = ?)""",
            [sync, sync, sync, sync],
        ).fetchall()
    finally:
        conn.unregister("_erased_now")
    done = [person for person, _, left, _ in rows if left == 0]
    set_status(
        conn,
        [
            (request, f"sync:{sync}", "done" if left == 0 else "failed", error)
            for _, request, left, error in rows
        ],
    )
    for person in done:
        conn.execute(
            "DELETE FROM activation.sync_log WHERE sync = ? AND person_id = ?", [sync, person]
        )
    return {"erasures_done": len(done), "erasures_failed": len(rows) - len(done)}


def _frame(erased: dict[str, str]):
    import pandas as pd

    return pd.DataFrame(
        {"person_id": list(erased), "request_id": list(erased.values())}, dtype="object"
    )


def pending_sync_erasures(
    conn: duckdb.DuckDBPyConnection, erased: dict[str, str]
) -> list[tuple[str, str, str, None]]:
    """(request, `sync:<name>`, `pending`, None) for each sync still holding an erased
    subject, so the status says what is left to do before the syncs run."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'activation' "
        "AND table_name = 'sync_state'"
    ).fetchone()[0]
    if not erased or not exists:
        return []
    conn.register("_erased_now", _frame(erased))
    try:
        rows = conn.execute(
            """SELECT DISTINCT e.request_id, 'sync:' || s.sync FROM activation.sync_state s
               JOIN _erased_now e USING (person_id) ORDER BY 1, 2"""
        ).fetchall()
    finally:
        conn.unregister("_erased_now")
    return [(request, target, "pending", None) for request, target in rows]
