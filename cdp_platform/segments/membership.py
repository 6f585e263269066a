"""Segment membership over time: who is in now, who entered and who left.

Each evaluation replaces the segment's rows in `segments.segment_memberships`
(per the contract: `segment`, `person_id`, plus `holdout`, `entered_at` and
`as_of`), appends an `entered` or `exited` event per change to
`segments.segment_membership_events`, and a row of figures to
`segments.segment_sizes`; all in one transaction, so a failed run changes
nothing. Events carry the as-of day evaluated and the time recorded, so
"who was in the segment on day D" is the persons whose latest event up to D
is `entered` (`members_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from cdp_platform.resources.warehouse import transaction
from cdp_platform.segments.compiler import MEMBERSHIPS_TABLE, compile_segment
from cdp_platform.segments.spec import SegmentSpec
from cdp_platform.tables.segments import SEGMENT_MEMBERSHIP_EVENTS, SEGMENT_SIZES

EVENTS_TABLE = SEGMENT_MEMBERSHIP_EVENTS
SIZES_TABLE = SEGMENT_SIZES


@dataclass(frozen=True)
class Evaluation:
    segment: str
    as_of: str
    size: int
    holdout: int
    entered: int
    exited: int
    previous_size: int | None


def previous_size(conn: duckdb.DuckDBPyConnection, segment: str) -> int | None:
    row = conn.execute(
        f"SELECT size FROM {SIZES_TABLE} WHERE segment = ? ORDER BY recorded_at DESC LIMIT 1",
        [segment],
    ).fetchone()
    return row[0] if row else None


def evaluate_segment(
    conn: duckdb.DuckDBPyConnection, spec: SegmentSpec, as_of: str, tables: set[str], run_id: str
) -> Evaluation:
    """Recompute the segment's members as of `as_of` and record what changed."""
    before = previous_size(conn, spec.name)
    sql = compile_segment(spec, as_of, tables)
    try:
        with transaction(conn):
            conn.execute(f"CREATE OR REPLACE TEMP TABLE _members AS {sql}")
            conn.execute(
                f"""CREATE OR REPLACE TEMP TABLE _changes AS
                    SELECT coalesce(n.person_id, o.person_id) AS person_id,
                           CASE WHEN o.person_id IS NULL THEN 'entered' ELSE 'exited' END AS event,
                           coalesce(n.holdout, o.holdout) AS holdout
                    FROM _members n
                    FULL JOIN (SELECT * FROM {MEMBERSHIPS_TABLE} WHERE segment = $segment) o
                      USING (person_id)
                    WHERE n.person_id IS NULL OR o.person_id IS NULL""",
                {"segment": spec.name},
            )
            conn.execute(
                f"""INSERT INTO {EVENTS_TABLE}
                    SELECT $segment, person_id, event, holdout, $as_of, now(), $run_id
                    FROM _changes ORDER BY person_id""",
                {"segment": spec.name, "as_of": as_of, "run_id": run_id},
            )
            # Members who stay keep the time they entered.
            conn.execute(
                f"""CREATE OR REPLACE TEMP TABLE _kept AS
                    SELECT n.person_id, n.holdout, coalesce(o.entered_at, now()) AS entered_at
                    FROM _members n
                    LEFT JOIN (SELECT * FROM {MEMBERSHIPS_TABLE} WHERE segment = $segment) o
                      USING (person_id)""",
                {"segment": spec.name},
            )
            conn.execute(f"DELETE FROM {MEMBERSHIPS_TABLE} WHERE segment = ?", [spec.name])
            conn.execute(
                f"""INSERT INTO {MEMBERSHIPS_TABLE}
                    SELECT $segment, person_id, holdout, entered_at, $as_of FROM _kept
                    ORDER BY person_id""",
                {"segment": spec.name, "as_of": as_of},
            )
            size, held, entered, exited = conn.execute(
                """SELECT (SELECT count(*) FROM _kept), (SELECT count(*) FILTER (WHERE holdout)
                          FROM _kept),
                          (SELECT count(*) FILTER (WHERE event = 'entered') FROM _changes),
                          (SELECT count(*) FILTER (WHERE event = 'exited') FROM _changes)"""
            ).fetchone()
            conn.execute(
                f"INSERT INTO {SIZES_TABLE} VALUES (?, ?, ?, ?, ?, ?, now(), ?)",
                [spec.name, as_of, size, held, entered, exited, run_id],
            )
    finally:
        for table in ("_members", "_changes", "_kept"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return Evaluation(spec.name, as_of, size, held, entered, exited, before)


def members_on(conn: duckdb.DuckDBPyConnection, segment: str, day: date | str) -> list[str]:
    """The persons in `segment` on `day`: those whose latest event up to it is `entered`."""
    rows = conn.execute(
        f"""SELECT person_id FROM {EVENTS_TABLE}
            WHERE segment = ? AND as_of <= CAST(? AS DATE)
            QUALIFY row_number() OVER (
              PARTITION BY person_id ORDER BY as_of DESC, occurred_at DESC) = 1
              AND event = 'entered'
            ORDER BY person_id""",
        [segment, str(day)],
    ).fetchall()
    return [p for (p,) in rows]
