"""A segment's size and a masked sample of its members, without writing anything."""

from __future__ import annotations

import dagster as dg
import duckdb

from cdp_platform.masking import mask_value
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.profiles.traits import loaded_tables
from cdp_platform.segments.compiler import MEMBERSHIPS_TABLE, compile_segment
from cdp_platform.segments.config import references
from cdp_platform.segments.membership import SIZES_TABLE
from cdp_platform.segments.spec import SegmentSpec
from cdp_platform.tables.profiles import GOLDEN_PROFILES

SAMPLE_COLUMNS = ("person_id", "holdout", "first_name", "email", "country")
UNMASKED = {"person_id", "holdout", "country"}


def masked_sample(conn: duckdb.DuckDBPyConnection, members_sql: str, limit: int) -> list[tuple]:
    """Up to `limit` members of `members_sql` (person_id, holdout), personal data masked;
    the same members each time for the same set (ordered by a hash of the id)."""
    rows = conn.execute(
        f"""SELECT m.person_id, m.holdout, g.first_name, g.email, g.country
            FROM ({members_sql}) m JOIN {GOLDEN_PROFILES} g USING (person_id)
            ORDER BY md5(m.person_id) LIMIT {int(limit)}"""
    ).fetchall()
    return [
        tuple(
            v if c in UNMASKED else mask_value(c, v)
            for c, v in zip(SAMPLE_COLUMNS, row, strict=True)
        )
        for row in rows
    ]


def sample_table(rows: list[tuple]) -> dg.MetadataValue:
    """A masked sample as a metadata table."""
    types = {"holdout": "bool"}
    return metadata_table([(c, types.get(c, "string")) for c in SAMPLE_COLUMNS], rows)


def preview(
    conn: duckdb.DuckDBPyConnection, spec: SegmentSpec, as_of: str, limit: int = 10
) -> tuple[int, int, list[tuple]]:
    """(members, held out, masked sample) of `spec` as of `as_of`, computed, not stored."""
    unbuilt = sorted(set(references(spec)) - set(last_sizes(conn)))
    if unbuilt:
        raise ValueError(
            f"segment {spec.name} builds on {', '.join(unbuilt)}: materialize them first"
        )
    sql = compile_segment(spec, as_of, loaded_tables(conn))
    size, held = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE holdout) FROM ({sql})"
    ).fetchone()
    return size, held, masked_sample(conn, sql, limit)


def last_sizes(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """Each segment's latest (size, as_of, recorded_at), if it was ever materialized."""
    rows = conn.execute(
        f"""SELECT segment, size, as_of, recorded_at FROM {SIZES_TABLE}
            QUALIFY row_number() OVER (PARTITION BY segment ORDER BY recorded_at DESC) = 1"""
    ).fetchall()
    return {segment: (size, as_of, recorded) for segment, size, as_of, recorded in rows}


def current_members_sql(segment: str) -> str:
    return (
        f"SELECT person_id, holdout FROM {MEMBERSHIPS_TABLE} "
        f"WHERE segment = '{segment.replace(chr(39), chr(39) * 2)}'"
    )
