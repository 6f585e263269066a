"""Data-subject requests matched to persons through the identity graph.

A request names one identifier (an email, a phone, a CRM record, a loyalty
card or a web-shop account). It is normalised the way identity normalises
records (emails folded to their matching key, phones to E.164), matched to
every identity record carrying it, and so to the whole person: an email on a
request reaches that person's records in every source.

Per person, the latest request decides (`privacy.subjects`): `SUPPRESS`
stops processing and activation, `UNSUPPRESS` lifts a suppression, `DELETE`
erases and stays erased, whatever comes after. Every request and what it
matched is kept in `privacy.request_matches`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cdp_platform.identity.standardise import email_match_sql, email_sql
from cdp_platform.identity_config import IdentityConfig
from cdp_platform.phones import to_e164
from cdp_platform.resources.warehouse import table_exists
from cdp_platform.tables.identity import IDENTITY_RECORDS, PERSON_ID_MAP
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS, REQUEST_MATCHES

REQUESTS_TABLE = "sources.privacy_requests"
MATCHES_TABLE = REQUEST_MATCHES
SUBJECTS_TABLE = PRIVACY_SUBJECTS
RECORDS = IDENTITY_RECORDS
MAP = PERSON_ID_MAP

# identifier_type -> the identity record column it is compared with
IDENTIFIER_COLUMNS = {
    "email": "email_match",
    "phone": "phone",
    "crm_record_id": "crm_record_id",
    "loyalty_card": "loyalty_card",
    "user_id": "user_id",
}


def _normalised_requests(conn: duckdb.DuckDBPyConnection, config: IdentityConfig) -> pd.DataFrame:
    # Two steps, as identity does: the email cleaned first, then its matching key.
    email = email_sql("identifier_value", config)
    match = email_match_sql("email", config.email_domain_corrections)
    frame = conn.execute(
        f"""SELECT request_id, type, identifier_type, received_at,
                   CASE identifier_type WHEN 'email' THEN {match}
                     ELSE trim(identifier_value) END AS identifier
            FROM (SELECT *, {email} AS email FROM {REQUESTS_TABLE})"""
    ).df()
    phones = frame["identifier_type"] == "phone"
    region = config.default_phone_region  # as identity read the records' phones
    frame.loc[phones, "identifier"] = [to_e164(v, region) for v in frame.loc[phones, "identifier"]]
    return frame


def build_subjects(conn: duckdb.DuckDBPyConnection, config: IdentityConfig) -> dict[str, int]:
    """Write `privacy.request_matches` and `privacy.subjects`; returns counts. Request
    identifiers are cleaned by identity's rules (`config`), as the records were."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS privacy")
    requests = (
        _normalised_requests(conn, config)
        if table_exists(conn, REQUESTS_TABLE)
        else pd.DataFrame(
            {c: pd.Series(dtype="object") for c in ("request_id", "type", "identifier_type")}
            | {
                "received_at": pd.Series(dtype="datetime64[ns, UTC]"),
                "identifier": pd.Series(dtype="object"),
            }
        )
    )
    conn.register("_requests", requests)
    try:
        matches = " UNION ALL ".join(
            f"""SELECT q.request_id, q.type, q.received_at, m.person_id,
                       '{kind}' AS matched_on
                FROM (SELECT * FROM _requests WHERE identifier_type = '{kind}') q
                JOIN {RECORDS} r ON r.{column} = q.identifier
                JOIN {MAP} m USING (source, source_record_id)"""
            for kind, column in IDENTIFIER_COLUMNS.items()
        )
        conn.execute(
            f"""CREATE OR REPLACE TABLE {MATCHES_TABLE} AS
                SELECT q.request_id, q.type, q.identifier_type, q.received_at,
                       d.person_id, d.matched_on
                FROM _requests q
                LEFT JOIN (SELECT DISTINCT * FROM ({matches})) d USING (request_id)
                ORDER BY q.received_at, q.request_id"""
        )
    finally:
        conn.unregister("_requests")
    conn.execute(
        f"""CREATE OR REPLACE TABLE {SUBJECTS_TABLE} AS
            WITH decided AS (
              SELECT person_id,
                     -- an erasure stands, whatever comes after it
                     bool_or(type = 'DELETE') AS erased,
                     arg_max(type, received_at) AS latest,
                     arg_max(request_id, received_at) AS latest_request,
                     max(received_at) AS decided_at
              FROM {MATCHES_TABLE} WHERE person_id IS NOT NULL GROUP BY person_id)
            SELECT person_id,
                   CASE WHEN erased THEN 'erased' ELSE 'suppressed' END AS status,
                   latest_request AS request_id, decided_at
            FROM decided WHERE erased OR latest = 'SUPPRESS'
            ORDER BY person_id"""
    )
    requests_total, unmatched = conn.execute(
        f"""SELECT count(DISTINCT request_id),
                   count(DISTINCT request_id) FILTER (WHERE person_id IS NULL)
            FROM {MATCHES_TABLE}"""
    ).fetchone()
    statuses = dict(
        conn.execute(f"SELECT status, count(*) FROM {SUBJECTS_TABLE} GROUP BY 1").fetchall()
    )
    return {
        "requests": requests_total,
        "requests_unmatched": unmatched,
        "persons_suppressed": statuses.get("suppressed", 0),
        "persons_erased": statuses.get("erased", 0),
    }
