"""Write parsed day files into the warehouse, one partition replaced at a time.

Tables per source (see `contracts.SourceSpec`):
- `sources.<name>_raw`: every loaded row of every day file, keyed by
  `_partition_date`; a partition write deletes that day and inserts it again.
- `sources.<name>`: the current state, the latest version of each natural key.
- `sources.quarantine`: rows that could not be loaded, with the reason.
- `sources.partition_loads`: one row per source and day written, for audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from cdp_platform.resources.warehouse import transaction
from cdp_platform.source_contracts import SourceSpec
from cdp_platform.sources.erased_rows import drop_tombstoned
from cdp_platform.sources.readers import ParsedFile
from cdp_platform.sources.validation import (
    json_fields_select,
    quote,
    raw_table_columns,
    typed_select,
)
from cdp_platform.tables.sources import PARTITION_LOADS, QUARANTINE
from cdp_platform.tables.table import Column, Table, create_tables


@dataclass
class PartitionLoad:
    partition_date: str
    file: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0


@dataclass
class LoadResult:
    """What one write of a set of partitions did."""

    partitions: list[PartitionLoad] = field(default_factory=list)
    current_rows: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # Rows of erased subjects dropped before storage (privacy.tombstone_hits).
    rows_dropped_erased: int = 0

    @property
    def rows_loaded(self) -> int:
        return sum(p.rows_loaded for p in self.partitions)

    @property
    def rows_quarantined(self) -> int:
        return sum(p.rows_quarantined for p in self.partitions)

    @property
    def rows_read(self) -> int:
        return sum(p.rows_read for p in self.partitions)


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Create the source's raw table, or add the columns a newer contract introduced."""
    columns = tuple(Column(name, sql_type) for name, sql_type in raw_table_columns(spec))
    create_tables(conn, [Table(spec.raw_table, owner=spec.name, columns=columns)])


def _batch_table(parsed: ParsedFile, partition_date: str, file_label: str) -> pa.Table:
    n = parsed.row_count
    arrays = {
        "_partition_date": pa.array([date.fromisoformat(partition_date)] * n, pa.date32()),
        "_file": pa.array([file_label] * n, pa.string()),
        "_line": pa.array(parsed.lines, pa.int32()),
        "_raw": pa.array(parsed.raws, pa.string()),
        "_structural_error": pa.array(parsed.structural_errors, pa.string()),
    }
    for column, values in parsed.columns.items():
        arrays[column] = pa.array(values, pa.string())
    return pa.table(arrays)


def write_partitions(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    files: Iterable[tuple[str, str | None, ParsedFile | None]],
    run_id: str,
    phone_region: str,
) -> LoadResult:
    """Replace the given partitions with the given files' rows, atomically.

    `files` yields (partition_date, file label, parsed file); a None parsed
    file means the day has no file and its partition becomes empty.
    """
    ensure_raw_table(conn, spec)
    typed_table = f"_typed_{spec.name}"
    raw_cols = [name for name, _ in raw_table_columns(spec)]
    days, labels = _stage_typed(conn, spec, files, typed_table)
    # Rows of erased subjects are dropped here, counted and never stored.
    dropped = drop_tombstoned(conn, spec, typed_table, run_id, phone_region)

    day_list = ", ".join(f"DATE '{d}'" for d in days) or "NULL"
    cols = ", ".join(quote(c) for c in raw_cols)
    with transaction(conn):
        conn.execute(f"DELETE FROM {spec.raw_table} WHERE _partition_date IN ({day_list})")
        conn.execute(
            f"INSERT INTO {spec.raw_table} ({cols}) SELECT {cols} FROM {typed_table} "
            "WHERE _reason IS NULL"
        )
        conn.execute(
            f"DELETE FROM {QUARANTINE} WHERE source = ? AND partition_date IN ({day_list})",
            [spec.name],
        )
        conn.execute(
            f"INSERT INTO {QUARANTINE} (source, file, line, raw, reason, partition_date) "
            f"SELECT ?, _file, _line, _raw, _reason, _partition_date FROM {typed_table} "
            "WHERE _reason IS NOT NULL ORDER BY _partition_date, _line",
            [spec.name],
        )
        refresh_current_table(conn, spec)
        result = _summarise(conn, spec, typed_table, days, labels)
        result.rows_dropped_erased = dropped
        conn.execute(
            f"DELETE FROM {PARTITION_LOADS} WHERE source = ? AND partition_date IN ({day_list})",
            [spec.name],
        )
        if result.partitions:
            conn.executemany(
                f"INSERT INTO {PARTITION_LOADS} VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [
                    [
                        spec.name,
                        p.partition_date,
                        p.file,
                        p.rows_read,
                        p.rows_loaded,
                        p.rows_quarantined,
                        run_id,
                    ]
                    for p in result.partitions
                ],
            )
    conn.execute(f"DROP TABLE IF EXISTS {typed_table}")
    return result


def _stage_typed(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    files: Iterable[tuple[str, str | None, ParsedFile | None]],
    typed_table: str,
) -> tuple[list[str], dict[str, str | None]]:
    """Type every row of every file into one temp table, in a single SQL pass.

    One pass, not one per day: DuckDB then plans the wide validation query once.
    """
    days: list[str] = []
    labels: dict[str, str | None] = {}
    batches: list[pa.Table] = []
    for partition_date, label, parsed in files:
        days.append(partition_date)
        labels[partition_date] = label
        if parsed is not None and parsed.row_count:
            batches.append(_batch_table(parsed, partition_date, label or ""))
    if batches:
        batch = pa.concat_tables(batches)
        source = json_fields_select(spec, "_batch") if spec.format == "jsonl" else "_batch"
    else:
        batch, source = _batch_table(_empty_parsed(spec), "2000-01-01", ""), "_batch"
    conn.register("_batch", batch)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {typed_table} AS {typed_select(spec, source)}")
    conn.unregister("_batch")
    return days, labels


def _empty_parsed(spec: SourceSpec) -> ParsedFile:
    return ParsedFile(path=Path(""), columns={c.column: [] for c in spec.columns})


def _summarise(conn, spec: SourceSpec, typed_table: str, days, labels) -> LoadResult:
    counts = {
        str(day): (read, bad)
        for day, read, bad in conn.execute(
            f"SELECT _partition_date, count(*), count(_reason) FROM {typed_table} GROUP BY 1"
        ).fetchall()
    }
    result = LoadResult()
    for day in days:
        read, bad = counts.get(day, (0, 0))
        result.partitions.append(PartitionLoad(day, labels.get(day), read, read - bad, bad))
    # Reasons are grouped by their first clause so the metadata stays a short table.
    result.quarantine_reasons = dict(
        conn.execute(
            f"SELECT split_part(_reason, '; ', 1) AS r, count(*) FROM {typed_table} "
            "WHERE _reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    )
    result.current_rows = conn.execute(f"SELECT count(*) FROM {spec.current_table}").fetchone()[0]
    return result


def refresh_current_table(conn: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Rebuild the current-state table: the latest version of each natural key.

    Versions are ordered by the source's own modification timestamp, then by
    file date, then by line. Multi-row versions (an order's line items) keep
    every row of the latest file that carries the key.
    """
    order = ", ".join(
        part
        for part in (
            f"{quote(spec.modified_at)} DESC NULLS LAST" if spec.modified_at else None,
            "_partition_date DESC",
            "_line DESC",
        )
        if part
    )
    if spec.multi_row_versions:
        qualify = "_partition_date = max(_partition_date) OVER (PARTITION BY source_record_id)"
    else:
        unit = quote(spec.dedupe_key or "source_record_id")
        qualify = f"row_number() OVER (PARTITION BY {unit} ORDER BY {order}) = 1"
    conn.execute(
        f"CREATE OR REPLACE TABLE {spec.current_table} AS "
        f"SELECT * FROM {spec.raw_table} QUALIFY {qualify}"
    )
