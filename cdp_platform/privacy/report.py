"""A subject access report: everything held about one person, as JSON.

The person is found the way requests are matched (an email is folded to its
matching key and compared with every identity record), so the report covers
all of their records in every source. It holds the golden profile, the
provenance of each value, every consent statement and the current state, the
segments they are in and have been in, and each record sent to (or skipped
for) a destination, with when.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb

from cdp_platform.identity.standardise import email_match_sql, email_sql
from cdp_platform.identity_config import load_identity_config
from cdp_platform.resources.warehouse import table_exists
from cdp_platform.tables.activation import SYNC_LOG
from cdp_platform.tables.identity import IDENTITY_RECORDS, PERSON_ID_MAP
from cdp_platform.tables.profiles import (
    CONSENT_STATE,
    CONSENT_STATEMENTS,
    CUSTOMER_SCORES,
    CUSTOMER_TIMELINE,
    CUSTOMER_TRAITS,
    GOLDEN_PROFILES,
    PROFILE_PROVENANCE,
)
from cdp_platform.tables.segments import SEGMENT_MEMBERSHIP_EVENTS, SEGMENT_MEMBERSHIPS

# Section -> (table, order): each read for the person's ids when the table exists.
SECTIONS = {
    "profile": (GOLDEN_PROFILES, "person_id"),
    "provenance": (PROFILE_PROVENANCE, "attribute"),
    "traits": (CUSTOMER_TRAITS, "person_id"),
    "scores": (CUSTOMER_SCORES, "person_id"),
    "consent": (CONSENT_STATE, "purpose"),
    "consent_history": (CONSENT_STATEMENTS, "stated_at"),
    "segments": (SEGMENT_MEMBERSHIPS, "segment"),
    "segment_history": (SEGMENT_MEMBERSHIP_EVENTS, "occurred_at"),
    "sent_to_destinations": (SYNC_LOG, "logged_at"),
    "timeline": (CUSTOMER_TIMELINE, "occurred_at"),
}


def persons_with_email(conn: duckdb.DuckDBPyConnection, email: str) -> list[str]:
    config = load_identity_config()
    match = email_match_sql("email", config.email_domain_corrections)
    key = conn.execute(
        f"SELECT {match} FROM (SELECT {email_sql('raw', config)} AS email "
        "FROM (SELECT ?::VARCHAR AS raw))",
        [email],
    ).fetchone()[0]
    if key is None:
        return []
    rows = conn.execute(
        f"""SELECT DISTINCT m.person_id FROM {IDENTITY_RECORDS} r
           JOIN {PERSON_ID_MAP} m USING (source, source_record_id)
           WHERE r.email_match = ? ORDER BY 1""",
        [key],
    ).fetchall()
    return [p for (p,) in rows]


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def access_report(conn: duckdb.DuckDBPyConnection, email: str) -> dict:
    persons = persons_with_email(conn, email)
    report: dict = {"request": {"email": email}, "persons": persons}
    if not persons:
        return report
    for section, (table, order) in SECTIONS.items():
        if not table_exists(conn, table):  # traits tables follow the configuration
            continue
        cursor = conn.execute(
            f"SELECT * FROM {table} WHERE person_id IN (SELECT unnest(?::VARCHAR[])) "
            f"ORDER BY {order}",
            [persons],
        )
        names = [d[0] for d in cursor.description]
        report[section] = [
            {k: _plain(v) for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()
        ]
    report["source_records"] = [
        {"source": s, "source_record_id": r}
        for s, r in conn.execute(
            f"SELECT source, source_record_id FROM {PERSON_ID_MAP} "
            "WHERE person_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1, 2",
            [persons],
        ).fetchall()
    ]
    return report
