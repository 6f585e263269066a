"""The erasure cascade in the warehouse: an erased subject's rows leave every layer.

For each person `privacy.subjects` marks `erased`, their source records (by
the identity map) are deleted from the sources' current tables and their
every-version `_raw` tables (in-store receipts by the loyalty card, web events
by the browser), their quarantined malformed rows (found by their emails in
the raw text), from the standardised identity records, the identity graph
and the id history, and from every table of the profiles and segments layers
that holds a `person_id`. The layers rebuilt downstream in the same run then
never see them. Destinations and the sync state are the activation layer's
part of the cascade. Data-subject requests themselves are kept: they are how
the erasure is honoured again when the same data arrives later.
"""

from __future__ import annotations

import duckdb

from cdp_platform.resources.warehouse import transaction
from cdp_platform.tables.identity import (
    IDENTITY_EDGES,
    IDENTITY_NODES,
    IDENTITY_RECORDS,
    PERSON_ID_HISTORY,
    PERSON_ID_MAP,
    RECORD_CLUSTERS,
    RECORD_NODES,
)
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS
from cdp_platform.tables.sources import QUARANTINE

SUBJECTS_TABLE = PRIVACY_SUBJECTS
ERASURE_LOG = "privacy.erasure_log"
MAP = PERSON_ID_MAP
# Layers whose tables are cleared by `person_id`, whatever tables they hold.
PERSON_SCHEMAS = ("identity", "profiles", "segments")
# Sources whose rows belong to a person's record through another column.
LINKED_ROWS = {
    # table: (its column, the identity source, that source's record id)
    "web_events": ("anonymous_id", "web_events"),
    "pos_transactions": ("card_number", "pos_loyalty"),
}


def _tables(conn: duckdb.DuckDBPyConnection, schema: str, column: str) -> list[str]:
    return [
        table
        for (table,) in conn.execute(
            """SELECT DISTINCT table_name FROM duckdb_columns()
               WHERE schema_name = ? AND column_name = ? ORDER BY 1""",
            [schema, column],
        ).fetchall()
    ]


def erase_subjects(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Delete erased subjects' rows everywhere in the warehouse; rows removed per table."""
    removed: dict[str, int] = {}
    try:
        with transaction(conn):
            conn.execute(
                f"""CREATE OR REPLACE TEMP TABLE _erased AS
                    SELECT person_id FROM {SUBJECTS_TABLE} WHERE status = 'erased'"""
            )
            conn.execute(
                f"""CREATE OR REPLACE TEMP TABLE _erased_records AS
                    SELECT DISTINCT source, source_record_id FROM {MAP}
                    WHERE person_id IN (SELECT person_id FROM _erased)"""
                if _tables(conn, "identity", "person_id")
                else "CREATE OR REPLACE TEMP TABLE _erased_records (source VARCHAR, source_record_id VARCHAR)"
            )

            def delete(table: str, where: str) -> None:
                count = conn.execute(f"DELETE FROM {table} WHERE {where}").fetchone()[0]
                if count:
                    removed[table] = removed.get(table, 0) + count

            for table in _tables(conn, "sources", "source_record_id"):
                source = table.removesuffix("_raw")
                column, owner = LINKED_ROWS.get(source, ("source_record_id", source))
                delete(
                    f"sources.{table}",
                    f"{column} IN (SELECT source_record_id FROM _erased_records "
                    f"WHERE source = '{owner}')",
                )
            if "quarantine" in _tables(conn, "sources", "raw") and _tables(
                conn, "staging", "email"
            ):
                # A malformed row of theirs is kept as raw text: found by their emails.
                delete(
                    QUARANTINE,
                    f"""EXISTS (SELECT 1 FROM {IDENTITY_RECORDS} r
                               JOIN _erased_records e USING (source, source_record_id)
                               WHERE r.email IS NOT NULL
                                 AND contains(lower(quarantine.raw), r.email))""",
                )
            staged = _tables(conn, "staging", "source_record_id")
            for table in ("identity_records", "record_nodes"):
                if table in staged:
                    delete(
                        f"staging.{table}",
                        "(source, source_record_id) IN (SELECT source, source_record_id "
                        "FROM _erased_records)",
                    )
            if "record_nodes" in staged and "identity_nodes" in _tables(conn, "staging", "node_id"):
                # A node is one person's records with equal fields: erased with them.
                delete(
                    IDENTITY_NODES,
                    f"node_id NOT IN (SELECT node_id FROM {RECORD_NODES})",
                )
            if "record_clusters" in _tables(conn, "identity", "record_key"):
                keys = (
                    f"SELECT record_key FROM {RECORD_CLUSTERS} WHERE (source, source_record_id) "
                    "IN (SELECT source, source_record_id FROM _erased_records)"
                )
                if "identity_edges" in _tables(conn, "identity", "record_a"):
                    delete(
                        IDENTITY_EDGES,
                        f"record_a IN ({keys}) OR record_b IN ({keys})",
                    )
                delete(RECORD_CLUSTERS, f"record_key IN ({keys})")
            for schema in PERSON_SCHEMAS:
                for table in _tables(conn, schema, "person_id"):
                    delete(f"{schema}.{table}", "person_id IN (SELECT person_id FROM _erased)")
            if "person_id_history" in _tables(conn, "identity", "other_person_id"):
                delete(
                    PERSON_ID_HISTORY,
                    "other_person_id IN (SELECT person_id FROM _erased)",
                )
    finally:
        conn.execute("DROP TABLE IF EXISTS _erased")
        conn.execute("DROP TABLE IF EXISTS _erased_records")
    return removed


def record_erasure_log(conn: duckdb.DuckDBPyConnection, removed: dict[str, int], run_id: str):
    """How many rows each table lost to erasure in a run: counts only, no one's data."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {ERASURE_LOG} (
              table_name VARCHAR, rows BIGINT, run_id VARCHAR, erased_at TIMESTAMPTZ)"""
    )
    if removed:
        conn.executemany(
            f"INSERT INTO {ERASURE_LOG} VALUES (?, ?, ?, now())",
            [[table, rows, run_id] for table, rows in sorted(removed.items())],
        )
