"""Identity nodes: records whose standardised identity fields are equal, as one.

A repeat buyer's thirty orders carry the same name, email and address thirty
times. Scored as records they make 435 pairs that say nothing new; as one
node they make none. Matching, blocking and the graph work on nodes, so the
work grows with distinct identities rather than with records.

Records collapse into one node only when they agree on every field matching
reads (names, email, phone, birth date, address) and on every attribute a
person is limited to (one web-shop account), and carry a name and at least
one field beyond it: two bare "John Smith" rows are two nodes, left to the
model, and nameless orders typed with a shop's own address are not one
person (the shared-value limit judges them).
Every identifier is kept as a list on the node (`ids_<column>`): those that
differ between a node's records (order ids, loyalty cards, browsers) have
several values.
"""

from __future__ import annotations

import duckdb

from cdp_platform.identity_config import IDENTIFIER_COLUMNS, LIST_COLUMNS
from cdp_platform.tables.identity import IDENTITY_NODES, RECORD_NODES

NODES_TABLE = IDENTITY_NODES
RECORD_NODES_TABLE = RECORD_NODES
IDS = "ids_"  # prefix of the identifier lists

# Every field the model compares: equal on all of them, records are one node.
MATCH_FIELDS = (
    "first_name_canonical",
    "first_name",
    "last_name",
    "email_match",
    "phone",
    "phone_kind",
    "postcode",
    "city",
    "street",
    "dob",
)
# A node the model scores: one carrying a name, an email or a phone.
SCORED_NODE = (
    "first_name_canonical IS NOT NULL OR last_name IS NOT NULL"
    " OR email_match IS NOT NULL OR phone IS NOT NULL"
)
# A name and at least one of these before equal records are collapsed.
DISTINCTIVE_FIELDS = ("email_match", "phone", "dob", "street", "user_id")


def _key_sql(limited: list[str]) -> str:
    fields = [*MATCH_FIELDS, *[c for c in limited if c not in MATCH_FIELDS]]
    parts = ", ".join(f"coalesce(CAST({f} AS VARCHAR), '')" for f in fields)
    distinctive = " OR ".join(f"{f} IS NOT NULL" for f in DISTINCTIVE_FIELDS)
    distinctive = f"(first_name_canonical IS NOT NULL OR last_name IS NOT NULL) AND ({distinctive})"
    record_key = "source || ':' || source_record_id"
    return f"CASE WHEN {distinctive} THEN 'n:' || md5(concat_ws('|', {parts})) ELSE 'r:' || {record_key} END"


def build_nodes(conn: duckdb.DuckDBPyConnection, records_table: str, limited: list[str]) -> int:
    """Write the node tables from `records_table`; returns the number of nodes."""
    conn.execute(
        f"""CREATE OR REPLACE TABLE {RECORD_NODES_TABLE} AS
        SELECT source, source_record_id, source || ':' || source_record_id AS record_key,
               {_key_sql(limited)} AS node_id
        FROM {records_table}"""
    )
    # Sorted: an unordered list would give a re-run other values in other
    # places, and the graph's choices would differ by a hair.
    identifiers = ",\n".join(
        f"list_sort(list_distinct(flatten(list(r.{c})))) AS {IDS}{c}"
        if c in LIST_COLUMNS
        else f"list_sort(list_distinct(list(r.{c}) FILTER (WHERE r.{c} IS NOT NULL))) AS {IDS}{c}"
        for c in IDENTIFIER_COLUMNS
    )
    scalar = ", ".join(f"any_value(r.{f}) AS {f}" for f in MATCH_FIELDS)
    conn.execute(
        f"""CREATE OR REPLACE TABLE {NODES_TABLE} AS
        SELECT n.node_id, min(n.record_key) AS record_key, count(*) AS records, {scalar},
               {identifiers}
        FROM {RECORD_NODES_TABLE} n
        JOIN {records_table} r USING (source, source_record_id)
        GROUP BY n.node_id"""
    )
    return conn.execute(f"SELECT count(*) FROM {NODES_TABLE}").fetchone()[0]
