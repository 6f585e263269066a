"""Probabilistic edges: Splink's scored pairs, under the same name protection.

A pair scored at or above the threshold becomes an edge only if both records
carry a first name and the names agree (as for deterministic links): a
household shares a surname, an address and often a phone, and Splink alone
scores its members as one person.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cdp_platform.identity import splink_model
from cdp_platform.identity.deterministic import EDGES_TABLE, first_names_agree_sql


def add_probabilistic_edges(
    conn: duckdb.DuckDBPyConnection,
    warehouse: Path,
    model: dict,
    threshold: float,
    name_similarity: float,
    records_table: str,
) -> int:
    records = splink_model.read_input(conn)
    scored = splink_model.predict(records, model, warehouse, threshold)
    conn.register("_scored", scored)
    agree = first_names_agree_sql("a", "b", name_similarity)
    before = conn.execute(f"SELECT count(*) FROM {EDGES_TABLE}").fetchone()[0]
    conn.execute(
        f"""INSERT INTO {EDGES_TABLE}
        SELECT least(s.unique_id_l, s.unique_id_r), greatest(s.unique_id_l, s.unique_id_r),
               'probabilistic', 'splink', s.match_probability,
               'splink match probability ' || round(s.match_probability, 4) || ', first names agree'
        FROM _scored s
        JOIN {records_table} a ON a.source || ':' || a.source_record_id = s.unique_id_l
        JOIN {records_table} b ON b.source || ':' || b.source_record_id = s.unique_id_r
        WHERE a.first_name_canonical IS NOT NULL AND b.first_name_canonical IS NOT NULL
          AND {agree}
          AND NOT EXISTS (
            SELECT 1 FROM {EDGES_TABLE} e
            WHERE e.record_a = least(s.unique_id_l, s.unique_id_r)
              AND e.record_b = greatest(s.unique_id_l, s.unique_id_r))"""
    )
    conn.unregister("_scored")
    return conn.execute(f"SELECT count(*) FROM {EDGES_TABLE}").fetchone()[0] - before
