"""Tombstones: what an erased subject was known by, kept only as salted hashes.

When a subject is erased, each identifier of their records (the record's own
key, its emails, phones, loyalty card and web-shop account) is stored as
`sha256(salt || kind || ':' || value)` in `privacy.tombstones`; never the
value. Loading drops the rows that hash to one (`sources.erased_rows`). An
email or phone another living person also uses (a household address or line)
gets no tombstone: that person's data must not be lost.
"""

from __future__ import annotations

import duckdb

from cdp_platform.sources.erased_rows import TOMBSTONES_TABLE, salt
from cdp_platform.tables.identity import IDENTITY_RECORDS, PERSON_ID_MAP
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS


def record_tombstones(conn: duckdb.DuckDBPyConnection) -> int:
    """Store digests of the erased subjects' identifiers; returns how many are new.

    Reads the identity records, so it must run before the erasure deletes them."""
    before = conn.execute(f"SELECT count(*) FROM {TOMBSTONES_TABLE}").fetchone()[0]
    conn.execute(
        f"""INSERT INTO {TOMBSTONES_TABLE}
            WITH theirs AS (
              SELECT s.request_id, r.* FROM {IDENTITY_RECORDS} r
              JOIN {PERSON_ID_MAP} m USING (source, source_record_id)
              JOIN {PRIVACY_SUBJECTS} s ON s.person_id = m.person_id AND s.status = 'erased'),
            others AS (
              SELECT r.email, r.email_match, r.phone FROM {IDENTITY_RECORDS} r
              JOIN {PERSON_ID_MAP} m USING (source, source_record_id)
              WHERE m.person_id NOT IN (
                SELECT person_id FROM {PRIVACY_SUBJECTS} WHERE status = 'erased')),
            identifiers AS (
              SELECT request_id, 'record' AS kind, source || ':' || source_record_id AS value
              FROM theirs
              UNION ALL SELECT request_id, 'email', email FROM theirs
                WHERE email NOT IN (SELECT email FROM others WHERE email IS NOT NULL)
              UNION ALL SELECT request_id, 'email', email_match FROM theirs
                WHERE email_match NOT IN (
                  SELECT email_match FROM others WHERE email_match IS NOT NULL)
              UNION ALL SELECT request_id, 'phone', phone FROM theirs
                WHERE phone NOT IN (SELECT phone FROM others WHERE phone IS NOT NULL)
              UNION ALL SELECT request_id, 'card', loyalty_card FROM theirs
              UNION ALL SELECT request_id, 'user', user_id FROM theirs)
            SELECT kind, sha256($salt || kind || ':' || value), any_value(request_id), now()
            FROM identifiers WHERE value IS NOT NULL GROUP BY ALL
            ON CONFLICT DO NOTHING""",
        {"salt": salt(conn)},
    )
    return conn.execute(f"SELECT count(*) FROM {TOMBSTONES_TABLE}").fetchone()[0] - before
