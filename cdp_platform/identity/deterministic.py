"""Deterministic edges: records that share a strong identifier, under merge protection.

For each configured identifier, every pair of records holding the same value
is a candidate edge. Merge protection then decides which candidates count:
- a value held by more than `max_records_per_value` records is shared (a
  shop's default address, a switchboard) and links nobody on its own;
- where a rule requires name agreement, the two records' first names must
  agree (same after nickname resolution, an initial of the other, or a
  near-identical spelling), so a household's shared email or landline does
  not merge the people who share it;
- a missing first name does not disagree, unless the value is contested
  (two of its records carry disagreeing names): then a record without a name
  cannot tell whose it is and links no one, so it cannot bridge the people.
"""

from __future__ import annotations

from cdp_platform.identity.config import IdentityConfig

EDGES_TABLE = "identity.identity_edges"


def _record_key(alias: str) -> str:
    return f"{alias}.source || ':' || {alias}.source_record_id"


def first_names_agree_sql(a: str, b: str, similarity: float) -> str:
    fa, fb = f"{a}.first_name_canonical", f"{b}.first_name_canonical"
    return (
        f"({fa} IS NULL OR {fb} IS NULL OR {fa} = {fb} "
        f"OR (length({fa}) = 1 AND starts_with({fb}, {fa})) "
        f"OR (length({fb}) = 1 AND starts_with({fa}, {fb})) "
        f"OR jaro_winkler_similarity({fa}, {fb}) >= {similarity})"
    )


def deterministic_edges_sql(config: IdentityConfig, records_table: str) -> str:
    rules = config.deterministic
    parts = []
    for rule in rules.identifiers:
        col = rule.column
        frequent = (
            f"SELECT {col} FROM {records_table} WHERE {col} IS NOT NULL "
            f"GROUP BY 1 HAVING count(*) > {rules.max_records_per_value}"
        )
        protection = "TRUE"
        if rule.require_name_agreement:
            agree = first_names_agree_sql("a", "b", rules.first_name_similarity)
            contested = (
                f"SELECT DISTINCT a.{col} FROM {records_table} a JOIN {records_table} b "
                f"ON a.{col} = b.{col} AND {_record_key('a')} < {_record_key('b')} "
                f"WHERE a.first_name_canonical IS NOT NULL AND b.first_name_canonical IS NOT NULL "
                f"AND NOT {agree} AND a.{col} NOT IN ({frequent})"
            )
            both_named = "a.first_name_canonical IS NOT NULL AND b.first_name_canonical IS NOT NULL"
            protection = f"{agree} AND (a.{col} NOT IN ({contested}) OR ({both_named}))"
        evidence = f"{rule.name} equal" + (
            ", first names agree" if rule.require_name_agreement else ""
        )
        parts.append(f"""
SELECT
  {_record_key("a")} AS record_a,
  {_record_key("b")} AS record_b,
  '{rule.name}' AS identifier,
  '{evidence}' AS evidence
FROM {records_table} a
JOIN {records_table} b
  ON a.{col} = b.{col}
 AND {_record_key("a")} < {_record_key("b")}
WHERE a.{col} NOT IN ({frequent})
  AND {protection}""")
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS record_a, NULL::VARCHAR AS record_b, NULL::VARCHAR AS edge_kind, "
            "NULL::VARCHAR AS identifier, NULL::DOUBLE AS match_probability, NULL::VARCHAR AS evidence "
            "WHERE FALSE"
        )
    # One row per pair: the first identifier that links it, the rest as evidence.
    union = "\nUNION ALL\n".join(parts)
    return f"""
SELECT record_a, record_b, 'deterministic' AS edge_kind,
       min(identifier) AS identifier, 1.0 AS match_probability,
       string_agg(evidence, '; ' ORDER BY evidence) AS evidence
FROM ({union})
GROUP BY record_a, record_b"""
