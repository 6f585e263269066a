"""Tombstones: an erased subject's data arriving again is dropped at loading, only counted."""

from __future__ import annotations

import re
from datetime import date

import duckdb

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline
from cdp_platform.privacy.tombstones import record_tombstones


def test_a_second_load_of_the_same_files_stores_nothing_of_erased_subjects(landing, query):
    generate(landing.parent, persons=250, days=8, start=date(2026, 8, 1), seed=11)
    assert run_pipeline(build_definitions(), landing).success
    erased_requests = query(
        "SELECT count(*) FROM privacy.request_status WHERE target = 'warehouse'"
    )[0][0]
    assert erased_requests > 0
    digests = query("SELECT kind, digest FROM privacy.tombstones")
    assert digests and all(re.fullmatch(r"[0-9a-f]{64}", d) for _, d in digests)
    raw_emails = [
        e.strip().lower()
        for (e,) in query(
            "SELECT identifier_value FROM sources.privacy_requests "
            "WHERE type = 'DELETE' AND identifier_type = 'email'"
        )
    ]
    assert not any(
        e in str(row) for row in query("SELECT * FROM privacy.tombstones") for e in raw_emails
    )

    # The same landing files again: the erased subjects' rows are dropped and counted.
    assert run_pipeline(build_definitions(), landing).success
    dropped = query("SELECT sum(rows) FROM privacy.tombstone_hits")[0][0]
    assert dropped > 0
    for table, column in query(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'sources' "
        "AND column_name LIKE '%email%' AND table_name NOT LIKE 'privacy_requests%' "
        "AND table_name <> 'quarantine'"
    ):
        found = query(
            f"SELECT count(*) FROM sources.{table} WHERE lower(trim({column})) IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [raw_emails],
        )[0][0]
        assert found == 0, f"{table}.{column}"


def test_an_email_a_living_person_shares_gets_no_tombstone():
    conn = duckdb.connect()
    for schema in ("staging", "identity", "privacy"):
        conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(
        """CREATE TABLE staging.identity_records AS SELECT * FROM (VALUES
             ('crm_contacts', 'c1', 'home@example.org', 'home@example.org', NULL, NULL),
             ('crm_contacts', 'c2', 'home@example.org', 'home@example.org', NULL, NULL),
             ('crm_contacts', 'c3', 'own@example.org', 'own@example.org', '600', 'U1')
           ) t(source, source_record_id, email, email_match, loyalty_card, user_id)"""
    )
    conn.execute(
        """CREATE TABLE identity.person_id_map AS SELECT * FROM (VALUES
             ('crm_contacts', 'c1', 'erased'), ('crm_contacts', 'c2', 'partner'),
             ('crm_contacts', 'c3', 'erased')) t(source, source_record_id, person_id)"""
    )
    conn.execute(
        "CREATE TABLE privacy.subjects AS SELECT 'erased' AS person_id, 'erased' AS status, "
        "'R1' AS request_id"
    )
    assert record_tombstones(conn) > 0
    kinds = dict(
        conn.execute("SELECT kind, count(*) FROM privacy.tombstones GROUP BY 1").fetchall()
    )
    # Two records, one own email (its address and matching key are one value), a card,
    # an account; the household address stays usable for the partner.
    assert kinds == {"record": 2, "email": 1, "card": 1, "user": 1}
    assert record_tombstones(conn) == 0  # nothing twice
