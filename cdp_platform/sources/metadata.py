"""Metadata a source materialization shows in the UI: schema, preview, counts."""

from __future__ import annotations

import dagster as dg
import duckdb

from cdp_platform.asset_defaults import PII
from cdp_platform.masking import mask_value
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.source_contracts import SourceSpec
from cdp_platform.sources.landing import LandingProblem
from cdp_platform.sources.loading import LoadResult, PartitionLoad
from cdp_platform.sources.validation import SQL_TYPES, quote

PREVIEW_ROWS = 5
IGNORED_FILES_SHOWN = 50


def column_schema(spec: SourceSpec) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            "source_record_id", "VARCHAR", f"natural key ({spec.column(spec.key).name})"
        ),
        dg.TableColumn("_partition_date", "DATE", "the day file the row came from"),
        dg.TableColumn("_file", "VARCHAR", "landing file, relative to the landing folder"),
        dg.TableColumn("_line", "INTEGER", "line of the row in its file"),
    ]
    for col in spec.columns:
        columns.append(
            dg.TableColumn(
                col.column,
                SQL_TYPES[col.type],
                f"`{col.name}`" + (f": {col.description}" if col.description else ""),
                constraints=dg.TableColumnConstraints(nullable=not col.required),
                tags=PII if col.pii else None,
            )
        )
    return dg.TableSchema(columns=columns)


def masked_preview(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, days: list[str]
) -> dg.MetadataValue:
    """A few rows just loaded, personal data masked."""
    shown = ["source_record_id", *[c.column for c in spec.columns if c.type != "json"]][:10]
    day_list = ", ".join(f"DATE '{d}'" for d in days) or "NULL"
    rows = conn.execute(
        f"SELECT {', '.join(quote(c) for c in shown)} FROM {spec.raw_table} "
        f"WHERE _partition_date IN ({day_list}) ORDER BY _partition_date, _line "
        f"LIMIT {PREVIEW_ROWS}"
    ).fetchall()
    pii = set(spec.pii_columns)
    return metadata_table(
        [(c, "string") for c in shown],
        (
            [_cell(mask_value(c, v) if c in pii else v) for c, v in zip(shown, row, strict=True)]
            for row in rows
        ),
    )


def _cell(value: object) -> str | None:
    return None if value is None else str(value).replace("\n", " ")[:40]


def reasons_table(result: LoadResult) -> dg.MetadataValue:
    """Quarantined rows by reason (an empty table when none were)."""
    return metadata_table(
        [("reason", "string"), ("rows", "int")], result.quarantine_reasons.items()
    )


def load_metadata(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, result: LoadResult, failed_files: list[str]
) -> dict[str, object]:
    """What the run did as a whole. Every partition's materialization carries
    it beside its own day's counts (`partition_metadata`), so the run's totals
    are named as such."""
    days = [p.partition_date for p in result.partitions]
    return {
        "run_partitions_written": len(days),
        "run_rows_loaded": result.rows_loaded,
        "run_rows_read": result.rows_read,
        "run_rows_quarantined": result.rows_quarantined,
        "run_rows_dropped_erased_subjects": result.rows_dropped_erased,
        "run_files_read": sum(1 for p in result.partitions if p.file),
        "run_files_failed": len(failed_files),
        "run_quarantine_reasons": reasons_table(result),
        "current_rows": result.current_rows,
        "preview": masked_preview(conn, spec, days),
        "dagster/table_name": spec.current_table,
    }


def partition_metadata(part: PartitionLoad) -> dict[str, object]:
    """One day's counts, for that partition's materialization."""
    return {
        "dagster/row_count": part.rows_loaded,
        "rows_read": part.rows_read,
        "rows_quarantined": part.rows_quarantined,
        "file": part.file or "none",
    }


def ignored_files_metadata(problems: list[LandingProblem]) -> dict[str, object]:
    """The source folder's entries that were not loaded: path and reason, never contents."""
    metadata: dict[str, object] = {"files_ignored": len(problems)}
    if problems:
        metadata["ignored_files"] = metadata_table(
            [("file", "string"), ("reason", "string")],
            [(p.label, p.reason) for p in problems[:IGNORED_FILES_SHOWN]],
        )
    return metadata
