"""The warehouse: one DuckDB file, opened through short-lived connections.

All code opens it through `connect()`: the file is attached under the fixed
catalog name `warehouse` (any file name works, `identity.duckdb` included), one
handle per process is shared by every connection, and it closes with the last
one so other processes can take the file's lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from dagster_duckdb import DuckDBResource

from cdp_platform import settings
from cdp_platform.sql_text import quoted
from cdp_platform.tables.catalog import TABLES
from cdp_platform.tables.table import create_tables

SCHEMAS = (
    "sources",
    "staging",
    "identity",
    "profiles",
    "segments",
    "activation",
    "insight",
    "privacy",
)

# Another process (a run, the UI's preview, the command line) may hold the
# file's write lock for a moment; wait for it rather than fail the step.
LOCK_WAIT_SECONDS = 120.0


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists in the warehouse."""
    schema, name = table.split(".")
    return bool(
        conn.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
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


# The file is attached under this name whatever it is called: a file named like a
# schema (`identity.duckdb`) would otherwise give a catalog that clashes with it.
CATALOG = "warehouse"


class WarehouseUnavailable(Exception):
    """The warehouse file cannot be opened: the message names the file and why."""


class WarehouseLocked(WarehouseUnavailable):
    """Another process holds the file's write lock (DuckDB has one writer per file)."""


@dataclass
class _Attached:
    """One DuckDB instance per file and process holding the file attached; every
    `connect()` is a cursor on it, so nested and concurrent uses in one process
    share it (DuckDB refuses to attach one file twice). Closed with its last user,
    which releases the file lock for other processes."""

    instance: duckdb.DuckDBPyConnection
    read_only: bool
    users: int = 0


_ATTACHED: dict[Path, _Attached] = {}
_ATTACHED_LOCK = threading.Lock()
_INHERITED: list[_Attached] = []


def _leave_inherited_handles() -> None:
    """In a forked child: never use nor close the parent's handles (their DuckDB worker
    threads do not exist here; closing one would wait for them for ever), so they are
    kept aside, unreferenced by `connect()`, until the child exits."""
    global _ATTACHED_LOCK
    _INHERITED.extend(_ATTACHED.values())
    _ATTACHED.clear()
    _ATTACHED_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_leave_inherited_handles)


def _attach(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    mode = " (READ_ONLY)" if read_only else ""
    deadline = time.monotonic() + wait_seconds
    while True:
        instance = duckdb.connect(":memory:", config=warehouse_config(path))
        try:
            instance.execute(f"ATTACH {quoted(str(path))} AS {CATALOG}{mode}")
            if not read_only:  # once per writable attach
                instance.execute(f"USE {CATALOG}")
                create_declared_tables(instance)
            return instance
        except duckdb.IOException as exc:
            instance.close()
            message = str(exc)
            if "lock" in message.lower() and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            error = WarehouseLocked if "lock" in message.lower() else WarehouseUnavailable
            raise error(_plain_reason(path, read_only, message)) from exc
        except duckdb.Error:
            instance.close()
            raise


def create_declared_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The schemas and every table with declared columns: readers find each table,
    empty until its owner first runs."""
    for schema in SCHEMAS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    create_tables(conn, TABLES)


def _plain_reason(path: Path, read_only: bool, message: str) -> str:
    if "lock" in message.lower():
        return f"warehouse {path} is locked by another process (DuckDB has one writer per file)"
    if read_only and not path.exists():
        return f"warehouse {path} does not exist"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"warehouse {path} cannot be written: permission denied"
    return f"warehouse {path} cannot be opened: {message.splitlines()[0]}"


@contextmanager
def connect(
    database: str | Path, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, creating the file, its schemas and declared tables on first use.

    Waits up to `wait_seconds` for another process's write lock. A read-only
    open inside a process that already has the file open for writing shares
    that handle."""
    path = Path(database).resolve()
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "a file is in the way" if path.parent.is_file() else exc.strerror
            raise WarehouseUnavailable(
                f"warehouse folder {path.parent} cannot be created: {reason}"
            ) from exc
    with _ATTACHED_LOCK:
        attached = _ATTACHED.get(path)
        if attached is not None and attached.read_only and not read_only:
            raise WarehouseUnavailable(
                f"warehouse {path} is open read-only in this process; close it before writing"
            )
        if attached is None:
            attached = _Attached(_attach(path, read_only, wait_seconds), read_only)
            _ATTACHED[path] = attached
        attached.users += 1
    conn = None
    try:
        conn = attached.instance.cursor()
        conn.execute(f"USE {CATALOG}")
        # Timestamps are stored and compared in UTC whatever the host's zone.
        conn.execute("SET TimeZone = 'UTC'")
        yield conn
    finally:
        if conn is not None:
            conn.close()
        with _ATTACHED_LOCK:
            attached.users -= 1
            if attached.users == 0:
                del _ATTACHED[path]
                attached.instance.close()


def check_writable(database: str | Path) -> None:
    """Raise `WarehouseUnavailable` now if the warehouse can never be written (a
    folder that cannot be made, no permission), rather than in every step; a file
    another process is writing is fine, since runs wait for it."""
    try:
        with connect(database, wait_seconds=0):
            pass
    except WarehouseLocked:
        pass


class WarehouseResource(DuckDBResource):
    """DuckDB warehouse resource; `database` defaults to `CDP_WAREHOUSE`."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.database) as conn:
            yield conn


def default_warehouse() -> WarehouseResource:
    return WarehouseResource(database=str(settings.warehouse_path()))
