"""Probabilistic candidate links: Splink's scored pairs with their evidence.

Every pair scored at or above the threshold is kept with its match
probability and the comparison levels that produced it (first name exact,
postcode sector, email different, ...). Only pairs whose two records carry
agreeing first names may link (`names_ok`): a household shares a surname, an
address and often a phone, and Splink alone scores its members as one person.
Names alone never link (`supported`): at least one other field must agree
(a level the model weighs as evidence for a match), because at scale many
people share a name. Whether a candidate links is decided in `graph.py`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cdp_platform.identity import splink_model
from cdp_platform.identity.names import first_names_agree_sql

CANDIDATES = "_splink_candidates"
NAME_COMPARISONS = ("first_name", "last_name")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _levels(comparison: dict) -> list[tuple[int, dict]]:
    """(gamma, level) of the non-null levels; Splink numbers them from the top, highest first."""
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    return [(len(levels) - 1 - i, level) for i, level in enumerate(levels)]


def support_sql(model: dict) -> str:
    """SQL: some field other than the names sits at a level the model counts for a match."""
    parts = []
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        if column in NAME_COMPARISONS:
            continue
        positive = [
            str(gamma)
            for gamma, level in _levels(comparison)
            if (level.get("m_probability") or 0) > (level.get("u_probability") or 1)
        ]
        if positive:
            parts.append(f"s.gamma_{column} IN ({', '.join(positive)})")
    return " OR ".join(parts) or "FALSE"


def evidence_sql(model: dict) -> str:
    """SQL naming the comparison level of each compared field, from the gamma columns."""
    parts = []
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        cases = " ".join(
            f"WHEN {gamma} THEN {_literal(f'{column}: ' + level['label_for_charts'])}"
            for gamma, level in _levels(comparison)
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
               {support_sql(model)} AS supported,
               'splink match probability ' || round(s.match_probability, 4) || ': '
                 || {evidence_sql(model)} AS evidence
        FROM _scored s
        JOIN {records_table} a ON a.source || ':' || a.source_record_id = s.unique_id_l
        JOIN {records_table} b ON b.source || ':' || b.source_record_id = s.unique_id_r"""
    )
    conn.unregister("_scored")
    return conn.execute(f"SELECT count(*) FROM {CANDIDATES}").fetchone()[0]
