"""Consent per person and purpose, from every statement the sources hold.

A statement is a source saying, at a time, that a person grants or denies a
purpose. The sources' `_raw` tables keep every version of every record, so
the history is complete and a rebuild gives the same answer:
- CRM `Email Subscription Status` (subscribed / unsubscribed), email
  marketing, dated when the status took that value (a later edit of the
  address does not restate an old opt-in);
- Mailchimp `Status` (subscribed / unsubscribed or cleaned; pending says
  nothing yet), email marketing, dated likewise;
- Shopify `Accepts Marketing` (yes / no) at checkout, email marketing;
- web identify traits `consent: {purpose: true|false}`, any purpose.
The latest statement per person and purpose wins, a denial on a tie; no
statement means `unknown`, which activation treats as denied.
"""

from __future__ import annotations

import duckdb

from cdp_platform.tables.identity import PERSON_ID_MAP
from cdp_platform.tables.profiles import CONSENT_STATE, CONSENT_STATEMENTS

MAP = PERSON_ID_MAP
STATEMENTS_TABLE = CONSENT_STATEMENTS
STATE_TABLE = CONSENT_STATE
PURPOSES = ("email_marketing", "sms", "advertising", "analytics")

# Versions of one record whose status differs from the version before: when the
# status was stated. (source table, person map source, status SQL -> granted/denied/NULL,
# time column)
CHANGING = {
    "crm_contacts_raw": (
        "crm_contacts",
        "CASE lower(trim(email_subscription_status)) WHEN 'subscribed' THEN 'granted' "
        "WHEN 'unsubscribed' THEN 'denied' END",
        "last_modified_date",
    ),
    "email_subscribers_raw": (
        "email_subscribers",
        "CASE lower(trim(status)) WHEN 'subscribed' THEN 'granted' "
        "WHEN 'unsubscribed' THEN 'denied' WHEN 'cleaned' THEN 'denied' END",
        "coalesce(last_changed, optin_time)",
    ),
}


def _changes_sql(table: str) -> str:
    source, status, at = CHANGING[table]
    return f"""
    SELECT m.person_id, 'email_marketing' AS purpose, v.status, v.stated_at,
           '{source}' AS source, v.source_record_id
    FROM (
      SELECT source_record_id, status, stated_at,
             lag(status) OVER (PARTITION BY source_record_id
                               ORDER BY stated_at, _partition_date, _line) AS previous
      FROM (SELECT source_record_id, {status} AS status, {at} AS stated_at,
                   _partition_date, _line FROM sources.{table})
      WHERE status IS NOT NULL
    ) v
    JOIN {MAP} m ON m.source = '{source}' AND m.source_record_id = v.source_record_id
    WHERE v.previous IS DISTINCT FROM v.status"""


SHOP_SQL = f"""
    SELECT DISTINCT m.person_id, 'email_marketing' AS purpose,
           CASE lower(trim(o.accepts_marketing)) WHEN 'yes' THEN 'granted' ELSE 'denied' END,
           o.created_at, 'shop_orders', o.source_record_id
    FROM sources.shop_orders_raw o
    JOIN {MAP} m ON m.source = 'shop_orders' AND m.source_record_id = o.source_record_id
    WHERE lower(trim(o.accepts_marketing)) IN ('yes', 'no') AND o.created_at IS NOT NULL"""

WEB_SQL = f"""
    SELECT m.person_id, c.purpose,
           CASE WHEN c.granted THEN 'granted' ELSE 'denied' END, c.timestamp, 'web_events',
           c.anonymous_id
    FROM (
      SELECT w.anonymous_id, w.timestamp, p.purpose,
             TRY_CAST(json_extract(w.traits, '$.consent.' || p.purpose) AS BOOLEAN) AS granted
      FROM sources.web_events_raw w
      CROSS JOIN (SELECT unnest({list(PURPOSES)}) AS purpose) p
      WHERE w.type = 'identify' AND json_extract(w.traits, '$.consent') IS NOT NULL
    ) c
    JOIN {MAP} m ON m.source = 'web_events' AND m.source_record_id = c.anonymous_id
    WHERE c.granted IS NOT NULL"""

PARTS = {
    "crm_contacts_raw": _changes_sql("crm_contacts_raw"),
    "email_subscribers_raw": _changes_sql("email_subscribers_raw"),
    "shop_orders_raw": SHOP_SQL,
    "web_events_raw": WEB_SQL,
}


def build_consent(conn: duckdb.DuckDBPyConnection, persons: str) -> dict[str, dict[str, int]]:
    """Write the statements and the state of every person of `persons` for every
    purpose; returns purpose -> status -> persons."""
    loaded = {
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sources'"
        ).fetchall()
    }
    parts = [sql for table, sql in PARTS.items() if table in loaded]
    empty = (
        "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::TIMESTAMPTZ, NULL::VARCHAR, "
        "NULL::VARCHAR WHERE FALSE"
    )
    union = " UNION ALL ".join(parts) or empty
    conn.execute("CREATE SCHEMA IF NOT EXISTS profiles")
    conn.execute(
        f"""CREATE OR REPLACE TABLE {STATEMENTS_TABLE} AS
        SELECT * FROM ({union}) s(person_id, purpose, status, stated_at, source, source_record_id)
        ORDER BY person_id, purpose, stated_at"""
    )
    conn.execute(
        f"""CREATE OR REPLACE TABLE {STATE_TABLE} AS
        WITH latest AS (
          SELECT * FROM {STATEMENTS_TABLE}
          QUALIFY row_number() OVER (
            PARTITION BY person_id, purpose
            ORDER BY stated_at DESC, status = 'denied' DESC, source, source_record_id) = 1
        )
        SELECT p.person_id, u.purpose, coalesce(l.status, 'unknown') AS status,
               l.stated_at, l.source, l.source_record_id
        FROM (SELECT DISTINCT person_id FROM {persons}) p
        CROSS JOIN (SELECT unnest({list(PURPOSES)}) AS purpose) u
        LEFT JOIN latest l USING (person_id, purpose)
        ORDER BY p.person_id, u.purpose"""
    )
    counts: dict[str, dict[str, int]] = {purpose: {} for purpose in PURPOSES}
    for purpose, status, n in conn.execute(
        f"SELECT purpose, status, count(*) FROM {STATE_TABLE} GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall():
        counts[purpose][status] = n
    return counts
