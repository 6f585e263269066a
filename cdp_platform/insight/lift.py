"""Campaign lift: what the members a sync sent did, against the segment's
held-out members, over a window after they entered.

A segment's holdout is drawn at random and never sent, so the members a sync
sent and the held-out members differ only by the campaign: the differences
in conversion (any purchase, web or store) and in revenue per member over the
window are the campaign's effect, each with a 95 % confidence interval
(normal approximation, unequal variances). A member counts from the first
day they entered, and only once the window after it has passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from cdp_platform.sql_text import quoted
from cdp_platform.tables.activation import SYNC_LOG
from cdp_platform.tables.segments import SEGMENT_MEMBERSHIP_EVENTS

LIFT_TABLE = "insight.campaign_lift"
# Two-sided 95 %.
Z95 = 1.959963984540054
# Under this many held-out members the normal approximation, and with it the
# interval, is not to be trusted: the check warns.
MIN_HELD_OUT = 30


@dataclass(frozen=True)
class Arm:
    members: int
    conversion: float  # share with a purchase in the window
    revenue: float  # mean revenue per member in the window
    revenue_variance: float


@dataclass(frozen=True)
class Lift:
    segment: str
    sync: str
    window_days: int
    sent: Arm
    held_out: Arm

    @property
    def conversion_lift(self) -> tuple[float, float, float]:
        """(difference, low, high) in the share converting, sent minus held out."""
        error = math.sqrt(
            _share_variance(self.sent) / max(self.sent.members, 1)
            + _share_variance(self.held_out) / max(self.held_out.members, 1)
        )
        return _interval(self.sent.conversion - self.held_out.conversion, error)

    @property
    def revenue_lift(self) -> tuple[float, float, float]:
        """(difference, low, high) in revenue per member, sent minus held out."""
        error = math.sqrt(
            self.sent.revenue_variance / max(self.sent.members, 1)
            + self.held_out.revenue_variance / max(self.held_out.members, 1)
        )
        return _interval(self.sent.revenue - self.held_out.revenue, error)

    @property
    def measurable(self) -> bool:
        return self.sent.members > 0 and self.held_out.members >= MIN_HELD_OUT


def _share_variance(arm: Arm) -> float:
    return arm.conversion * (1 - arm.conversion)


def _interval(difference: float, error: float) -> tuple[float, float, float]:
    return difference, difference - Z95 * error, difference + Z95 * error


def _arms_sql(links: list[tuple[str, str]], purchases_sql: str, as_of: str, window: int) -> str:
    values = ", ".join(f"({quoted(sync)}, {quoted(segment)})" for sync, segment in links)
    return f"""
    WITH links(sync, segment) AS (VALUES {values}),
    entries AS (
        SELECT segment, person_id, arg_min(holdout, as_of) AS holdout,
               min(as_of) AS entered_on
        FROM {SEGMENT_MEMBERSHIP_EVENTS} WHERE event = 'entered' GROUP BY ALL
    ),
    ready AS (
        SELECT * FROM entries
        WHERE entered_on + INTERVAL {window} DAY <= DATE {quoted(as_of)}
    ),
    sent AS (
        SELECT DISTINCT sync, person_id FROM {SYNC_LOG}
        WHERE status = 'succeeded' AND operation IN ('upsert', 'add')
    ),
    arms AS (
        SELECT l.sync, r.segment, r.person_id, r.entered_on, 'sent' AS arm
        FROM ready r JOIN links l USING (segment)
        JOIN sent s ON s.sync = l.sync AND s.person_id = r.person_id
        WHERE NOT r.holdout
        UNION ALL
        SELECT l.sync, r.segment, r.person_id, r.entered_on, 'held_out' AS arm
        FROM ready r JOIN links l USING (segment)
        WHERE r.holdout
    ),
    outcomes AS (
        SELECT a.sync, a.segment, a.arm, a.person_id,
               count(p.person_id) > 0 AS converted,
               coalesce(sum(p.amount), 0)::DOUBLE AS revenue
        FROM arms a LEFT JOIN ({purchases_sql}) p
          ON p.person_id = a.person_id
         AND p.occurred_at >= a.entered_on + INTERVAL 1 DAY
         AND p.occurred_at < a.entered_on + INTERVAL {window + 1} DAY
        GROUP BY ALL
    )
    SELECT sync, segment, arm, count(*)::INTEGER, avg(converted::DOUBLE), avg(revenue),
           coalesce(var_samp(revenue), 0)
    FROM outcomes GROUP BY ALL ORDER BY ALL"""


def measure_lift(
    conn: duckdb.DuckDBPyConnection,
    links: list[tuple[str, str]],
    purchases_sql: str,
    as_of: str,
    window_days: int,
) -> list[Lift]:
    """The lift of every (sync, segment) in `links` whose segment has a holdout,
    from the purchases `purchases_sql` selects (person_id, occurred_at, amount),
    counting members whose window ended by `as_of`."""
    if not links:
        return []
    rows = conn.execute(_arms_sql(links, purchases_sql, as_of, window_days)).fetchall()
    if not rows:  # no segment with a synced link has a member yet
        return []
    arms = {
        (sync, segment, arm): Arm(n, conv, rev, var)
        for sync, segment, arm, n, conv, rev, var in rows
    }
    empty = Arm(0, 0.0, 0.0, 0.0)
    return [
        Lift(
            segment,
            sync,
            window_days,
            arms.get((sync, segment, "sent"), empty),
            arms.get((sync, segment, "held_out"), empty),
        )
        for sync, segment in links
    ]


def write_lift(conn: duckdb.DuckDBPyConnection, lifts: list[Lift], as_of: str) -> None:
    """One row per (segment, sync) as of `as_of`, kept over runs (the history the
    UI plots)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS insight")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {LIFT_TABLE} (
              segment VARCHAR, sync VARCHAR, as_of DATE, window_days INTEGER,
              sent INTEGER, held_out INTEGER,
              conversion_sent DOUBLE, conversion_held_out DOUBLE,
              conversion_lift DOUBLE, conversion_lift_low DOUBLE, conversion_lift_high DOUBLE,
              revenue_per_member_sent DOUBLE, revenue_per_member_held_out DOUBLE,
              revenue_lift DOUBLE, revenue_lift_low DOUBLE, revenue_lift_high DOUBLE,
              measured_at TIMESTAMPTZ)"""
    )
    conn.execute(f"DELETE FROM {LIFT_TABLE} WHERE as_of = ?", [as_of])
    if not lifts:
        return
    conn.executemany(
        f"INSERT INTO {LIFT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            [
                lift.segment,
                lift.sync,
                as_of,
                lift.window_days,
                lift.sent.members,
                lift.held_out.members,
                lift.sent.conversion,
                lift.held_out.conversion,
                *lift.conversion_lift,
                lift.sent.revenue,
                lift.held_out.revenue,
                *lift.revenue_lift,
            ]
            for lift in lifts
        ],
    )
