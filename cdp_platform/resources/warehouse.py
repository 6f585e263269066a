"""The warehouse: one DuckDB file, opened through short-lived connections.

Every connection in a process must be opened with the same configuration
(DuckDB refuses a second, differently configured handle on one file), so all
code opens it through `warehouse_config()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster_duckdb import DuckDBResource

from cdp_platform import settings

SCHEMAS = ("sources", "staging", "identity", "profiles", "segments", "activation", "privacy")

# Another process (a run, the UI's preview, the command line) may hold the
# file's write lock for a moment; wait for it rather than fail the step.
LOCK_WAIT_SECONDS = 120.0


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists in the warehouse."""
    schema, name = table.split(".")
    return bool(
        conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of the block's writes or none: commit when it ends, roll back if it raises."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def warehouse_config(database: str | Path) -> dict[str, Any]:
    temp_dir = Path(database).resolve().parent / ".tmp"
    return {
        "threads": settings.duckdb_threads(),
        "memory_limit": settings.duckdb_memory_limit(),
        "temp_directory": str(temp_dir),
    }


@contextmanager
def connect(database: str | Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, creating the file and its schemas on first use."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only, config=warehouse_config(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        # Timestamps are stored and compared in UTC whatever the host's zone.
        conn.execute("SET TimeZone = 'UTC'")
        if not read_only:
            for schema in SCHEMAS:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        yield conn
    finally:
        conn.close()


class WarehouseResource(DuckDBResource):
    """DuckDB warehouse resource; `database` defaults to `CDP_WAREHOUSE`."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.database) as conn:
            yield conn


def default_warehouse() -> WarehouseResource:
    return WarehouseResource(database=str(settings.warehouse_path()))
