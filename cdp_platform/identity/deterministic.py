"""Deterministic candidate links: identity nodes that share a strong identifier.

For each configured identifier (in priority order) the SQL here lists:
- record pairs that share a value, where the rule needs no names (one
  web-shop account, one order) or both records carry first names that agree
  (a household may share an email or a landline, its members' names differ);
- for values that some record holds without a name, every holder, so the
  graph can decide whether the value is one person's or contested.
A value held by more than `max_records_per_value` nodes (distinct identities,
not records: a repeat buyer's orders are one node) is shared (a shop's default
address, a switchboard) and links nobody on its own. Which candidates
become links is decided in `graph.py`.
"""

from __future__ import annotations

from cdp_platform.identity.names import first_names_agree_sql
from cdp_platform.identity.nodes import IDS
from cdp_platform.identity_config import IdentifierRule, IdentityConfig


def _values_sql(rule: IdentifierRule, nodes_table: str, max_records: int) -> str:
    """Identifier columns are lists on nodes (a node's records may hold several)."""
    return f"""
SELECT * FROM (
  SELECT DISTINCT node_id AS record_key, first_name_canonical, last_name,
         unnest({IDS}{rule.column}) AS value
  FROM {nodes_table}
)
WHERE value IS NOT NULL
QUALIFY count(*) OVER (PARTITION BY value) BETWEEN 2 AND {max_records}"""


def candidate_pairs_sql(config: IdentityConfig, records_table: str) -> str:
    """record_a, record_b, identifier, priority, check_names, evidence."""
    rules = config.deterministic
    parts = []
    for priority, rule in enumerate(rules.identifiers):
        condition = "TRUE"
        evidence = f"{rule.name} equal"
        if rule.require_name_agreement:
            agree = first_names_agree_sql("a", "b", rules.first_name_similarity)
            condition = (
                "a.first_name_canonical IS NOT NULL AND b.first_name_canonical IS NOT NULL "
                f"AND {agree}"
            )
            evidence += ", first names agree"
        parts.append(f"""
SELECT a.record_key AS record_a, b.record_key AS record_b, '{rule.name}' AS identifier,
       {priority} AS priority, {rule.require_name_agreement} AS check_names,
       '{evidence}' AS evidence
FROM ({_values_sql(rule, records_table, rules.max_records_per_value)}) a
JOIN ({_values_sql(rule, records_table, rules.max_records_per_value)}) b
  ON a.value = b.value AND a.record_key < b.record_key
WHERE {condition}""")
    return "\nUNION ALL\n".join(parts) or _EMPTY_PAIRS


def nameless_holders_sql(config: IdentityConfig, records_table: str) -> str:
    """priority, identifier, value, record_key, named: values some record holds without a name."""
    rules = config.deterministic
    parts = [
        f"""
SELECT {priority} AS priority, '{rule.name}' AS identifier, value, record_key,
       first_name_canonical IS NOT NULL AS named
FROM ({_values_sql(rule, records_table, rules.max_records_per_value)})
QUALIFY count(*) FILTER (WHERE first_name_canonical IS NULL) OVER (PARTITION BY value) > 0"""
        for priority, rule in enumerate(rules.identifiers)
        if rule.require_name_agreement
    ]
    return "\nUNION ALL\n".join(parts) or _EMPTY_HOLDERS


_EMPTY_PAIRS = (
    "SELECT NULL::VARCHAR AS record_a, NULL::VARCHAR AS record_b, NULL::VARCHAR AS identifier, "
    "NULL::INT AS priority, NULL::BOOLEAN AS check_names, NULL::VARCHAR AS evidence WHERE FALSE"
)
_EMPTY_HOLDERS = (
    "SELECT NULL::INT AS priority, NULL::VARCHAR AS identifier, NULL::VARCHAR AS value, "
    "NULL::VARCHAR AS record_key, NULL::BOOLEAN AS named WHERE FALSE"
)
