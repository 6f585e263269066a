"""The customer timeline: everything a person did, in time order, for service teams.

One row per order, in-store receipt, support ticket, consent statement and
web session, with a one-line summary. Built from the same activity views as
the traits (`activity.py`) and the consent statements, as of the same day.
"""

from __future__ import annotations

import duckdb

from cdp_platform.profiles.activity import activity_sql
from cdp_platform.profiles.consent import STATEMENTS_TABLE
from cdp_platform.profiles.traits import loaded_sources
from cdp_platform.tables.profiles import CUSTOMER_TIMELINE

TIMELINE_TABLE = CUSTOMER_TIMELINE
COLUMNS = "person_id, occurred_at, kind, source_record_id, summary, amount"

PARTS = {
    "purchases": """
        SELECT person_id, occurred_at,
               CASE channel WHEN 'web' THEN 'order' ELSE 'receipt' END AS kind,
               purchase_id AS source_record_id,
               CASE channel WHEN 'web' THEN 'Web order ' ELSE 'In-store receipt ' END
                 || purchase_id || ': ' || amount || ' ' || coalesce(currency, '') AS summary,
               amount
        FROM ({activity})""",
    "tickets": """
        SELECT person_id, occurred_at, 'ticket', ticket_id,
               'Ticket ' || ticket_id || ' (' || coalesce(channel, '?') || ', '
                 || coalesce(priority, '?') || '): ' || coalesce(status, '?')
                 || CASE WHEN satisfaction_score IN ('good', 'bad')
                         THEN ', rated ' || satisfaction_score ELSE '' END,
               NULL::DECIMAL(18, 2)
        FROM ({activity})""",
    "web": """
        SELECT person_id, min(occurred_at), 'web_session', any_value(anonymous_id),
               'Web session: ' || count(*) FILTER (WHERE type = 'page') || ' pages, '
                 || count(*) FILTER (WHERE type = 'track') || ' events'
                 || coalesce(', ' || string_agg(DISTINCT event, ', ' ORDER BY event)
                             FILTER (WHERE event IN ('Order Completed', 'Checkout Started',
                                                     'Signed Up')), ''),
               NULL::DECIMAL(18, 2)
        FROM ({activity}) GROUP BY person_id, session_id""",
}


def build_timeline(conn: duckdb.DuckDBPyConnection, as_of: str) -> int:
    """Write `profiles.customer_timeline` up to the end of `as_of`; returns its rows."""
    tables = loaded_sources(conn)
    parts = []
    for name, template in PARTS.items():
        activity = activity_sql(name, as_of, tables)
        if activity is not None:
            parts.append(template.format(activity=activity))
    parts.append(
        f"""SELECT person_id, stated_at, 'consent', source_record_id,
               'Consent ' || purpose || ' ' || status || ' (' || source || ')',
               NULL::DECIMAL(18, 2)
        FROM {STATEMENTS_TABLE}
        WHERE stated_at < DATE '{as_of}' + INTERVAL 1 DAY"""
    )
    union = " UNION ALL ".join(f"({p})" for p in parts)
    conn.execute(
        f"""CREATE OR REPLACE TABLE {TIMELINE_TABLE} AS
        SELECT * FROM ({union}) t({COLUMNS}) ORDER BY person_id, occurred_at, kind"""
    )
    return conn.execute(f"SELECT count(*) FROM {TIMELINE_TABLE}").fetchone()[0]
