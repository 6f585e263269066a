"""The rows a sync offers: who, keyed how, with which fields, and whether they consented."""

from __future__ import annotations

import math

import duckdb

from cdp_platform.activation.config import SyncSpec
from cdp_platform.activation.plan import Row
from cdp_platform.profiles.traits import loaded_tables
from cdp_platform.segments.compiler import (
    MEMBERSHIPS_TABLE,
    PERSON_VIEW,
    literal,
    person_view,
)
from cdp_platform.sql_expressions import checked_condition
from cdp_platform.tables.profiles import CONSENT_STATE


def rows_sql(sync: SyncSpec, purpose: str, tables: set[str] = frozenset()) -> str:
    """One row per person the sync covers: key, person, mapped fields, consent.

    A segment's held-out members are never sent: that is what holding out means.
    Suppressed and erased subjects are not offered at all, so mirror and remove
    modes take them out of the destination. The sync's own `where` (checked again
    here; its checked rendering is what runs) only picks person ids, in a CTE over
    the person view that sees nothing else; who is offered, with which columns,
    and their consent are decided outside it, so no filter can add a person,
    change a field or mark anyone consented."""
    fields = "".join(f', p.{column} AS "{name}"' for name, column in sync.mapping.items())
    chosen, joins, filters = "", [], [f"p.{sync.identifier} IS NOT NULL"]
    if sync.source.segment:
        joins.append(
            f"JOIN {MEMBERSHIPS_TABLE} m ON m.person_id = p.person_id "
            f"AND m.segment = {literal(sync.source.segment)} AND NOT m.holdout"
        )
    if sync.source.where:
        condition = checked_condition(sync.source.where)
        chosen = f"WITH _chosen AS (SELECT person_id FROM ({PERSON_VIEW}) WHERE {condition})"
        filters.append("p.person_id IN (SELECT person_id FROM _chosen)")
    return f"""{chosen}
        SELECT CAST(p.{sync.identifier} AS VARCHAR) AS _key, p.person_id AS _person_id,
               coalesce(c.status = 'granted', false) AS _consented{fields}
        FROM ({person_view(tables)}) p {" ".join(joins)}
        LEFT JOIN {CONSENT_STATE} c
          ON c.person_id = p.person_id AND c.purpose = {literal(purpose)}
        WHERE {" AND ".join(filters)}
        -- Two persons with one identifier: the destination can hold one; keep the first.
        QUALIFY row_number() OVER (PARTITION BY _key ORDER BY p.person_id) = 1
        ORDER BY _key"""


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def sync_rows(conn: duckdb.DuckDBPyConnection, sync: SyncSpec, purpose: str) -> list[Row]:
    cursor = conn.execute(rows_sql(sync, purpose, loaded_tables(conn)))
    names = [d[0] for d in cursor.description]
    rows = []
    for key, person, consented, *values in cursor.fetchall():
        fields = {k: _plain(v) for k, v in zip(names[3:], values, strict=True)}
        rows.append(Row(key, person, fields, bool(consented)))
    return rows
