"""Probabilistic candidate links: Splink's scored pairs with their evidence.

Every pair scored at or above the threshold is kept with its match
probability and the comparison levels that produced it (first name exact,
postcode sector, email different, ...). Only pairs whose two records carry
agreeing first names may link (`names_ok`): a household shares a surname, an
address and often a phone, and Splink alone scores its members as one person.
Whether a candidate links is decided in `graph.py`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cdp_platform.identity import splink_model
from cdp_platform.identity.names import first_names_agree_sql

CANDIDATES = "_splink_candidates"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def evidence_sql(model: dict) -> str:
    """SQL naming the comparison level of each compared field, from the gamma columns."""
    parts = []
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        # Splink numbers the non-null levels from the top, highest first.
        cases = " ".join(
            f"WHEN {len(levels) - 1 - i} THEN {_literal(f'{column}: ' + level['label_for_charts'])}"
            for i, level in enumerate(levels)
        )
        parts.append(f"CASE s.gamma_{column} {cases} END")
    return f"concat_ws('; ', {', '.join(parts)})"


def score_candidates(
    conn: duckdb.DuckDBPyConnection,
    warehouse: Path,
    model: dict,
    threshold: float,
    name_similarity: float,
    records_table: str,
) -> int:
    """Create temp table `_splink_candidates`; returns its row count."""
    records = splink_model.read_input(conn)
    scored = splink_model.predict(records, model, warehouse, threshold)
    conn.register("_scored", scored)
    agree = first_names_agree_sql("a", "b", name_similarity)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS
        SELECT least(s.unique_id_l, s.unique_id_r) AS record_a,
               greatest(s.unique_id_l, s.unique_id_r) AS record_b,
               s.match_probability,
               a.first_name_canonical IS NOT NULL AND b.first_name_canonical IS NOT NULL
                 AND {agree} AS names_ok,
               'splink match probability ' || round(s.match_probability, 4) || ': '
                 || {evidence_sql(model)} AS evidence
        FROM _scored s
        JOIN {records_table} a ON a.source || ':' || a.source_record_id = s.unique_id_l
        JOIN {records_table} b ON b.source || ':' || b.source_record_id = s.unique_id_r"""
    )
    conn.unregister("_scored")
    return conn.execute(f"SELECT count(*) FROM {CANDIDATES}").fetchone()[0]
