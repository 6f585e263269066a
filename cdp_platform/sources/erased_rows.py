"""Rows of erased subjects, dropped from a load before anything is stored.

When a subject is erased, the privacy layer keeps each identifier of their
records as a salted hash in `privacy.tombstones` (`privacy.tombstones`
module). When a landing file is loaded later, a row whose key or identifiers
hash to a tombstone is dropped here, before anything is stored, and only
counted (`privacy.tombstone_hits`). Sources are the floor every layer stands
on, so no configuration above can let such a row back in.

Phones are stored in E.164, as staging keeps them; at loading, the distinct raw
phone texts of the load are normalised by the same libphonenumber code
(`phones.e164_table`, the configured default region), so `07700 900123` in a
new file meets the tombstone of `+447700900123`.

The salt comes from `CDP_TOMBSTONE_SALT`; without it, a random salt is made
once per warehouse and kept in `privacy.salt`, so hashes cannot be looked up
in a table made elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter

import duckdb
import pyarrow as pa

from cdp_platform.phones import e164_table
from cdp_platform.source_contracts import SourceSpec
from cdp_platform.tables.privacy import TOMBSTONES
from cdp_platform.tables.sources import TOMBSTONE_HITS

TOMBSTONES_TABLE = TOMBSTONES
HITS_TABLE = TOMBSTONE_HITS
SALT_TABLE = "privacy.salt"
# Sources whose rows never belong to a person.
NOT_PERSONAL = {"crm_companies", "privacy_requests"}
# Raw phone texts of the load being staged whose E.164 form is tombstoned.
TOMBSTONED_PHONES = "_tombstoned_phones"


def salt(conn: duckdb.DuckDBPyConnection) -> str:
    configured = os.environ.get("CDP_TOMBSTONE_SALT")
    if configured:
        return configured
    conn.execute("CREATE SCHEMA IF NOT EXISTS privacy")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {SALT_TABLE} (salt VARCHAR)")
    row = conn.execute(f"SELECT salt FROM {SALT_TABLE}").fetchone()
    if row:
        return row[0]
    value = secrets.token_hex(16)
    conn.execute(f"INSERT INTO {SALT_TABLE} VALUES (?)", [value])
    return value


def digest_sql(kind: str, value: str) -> str:
    """SQL of a tombstone digest of `value` (an SQL expression); `$salt` is bound."""
    return f"sha256($salt || '{kind}:' || {value})"


def phone_columns(spec: SourceSpec) -> list[str]:
    return [c.column for c in spec.columns if c.pii and "phone" in c.column]


def tombstoned_sql(spec: SourceSpec, phones_table: str | None = None) -> str | None:
    """A condition over a typed row of `spec`: it belongs to an erased subject.

    `phones_table` (one `phone_text` column) lists the raw phone texts whose
    E.164 form is tombstoned; without it phones are not compared."""
    if spec.name in NOT_PERSONAL:
        return None
    digests = [digest_sql("record", f"'{spec.name}:' || source_record_id")]
    for column in spec.columns:
        if column.pii and "email" in column.column:
            digests.append(digest_sql("email", f"lower(trim({column.column}))"))
        elif column.column == "card_number":
            digests.append(digest_sql("card", f"trim({column.column})"))
        elif column.column == "user_id":
            digests.append(digest_sql("user", f"trim({column.column})"))
    conditions = [f"{d} IN (SELECT digest FROM {TOMBSTONES_TABLE})" for d in digests]
    if phones_table:
        conditions += [
            f"{column} IN (SELECT phone_text FROM {phones_table})" for column in phone_columns(spec)
        ]
    return " OR ".join(conditions)


def _stage_tombstoned_phones(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, typed_table: str, phone_region: str
) -> str | None:
    """Make `TOMBSTONED_PHONES`: the raw phones of this load whose E.164 is tombstoned.

    Python (libphonenumber) runs once per distinct phone text of the load, and
    only when some phone is tombstoned at all."""
    columns = phone_columns(spec)
    if not columns:
        return None
    (tombstoned,) = conn.execute(
        f"SELECT count(*) FROM {TOMBSTONES_TABLE} WHERE kind = 'phone'"
    ).fetchone()
    if not tombstoned:
        return None
    distinct = " UNION ".join(
        f"SELECT {c} FROM {typed_table} WHERE nullif(trim({c}), '') IS NOT NULL" for c in columns
    )
    texts = [text for (text,) in conn.execute(distinct).fetchall()]
    mapping = e164_table(texts, phone_region)
    conn.register(
        "_load_phones",
        pa.table(
            {
                "phone_text": pa.array(list(mapping), pa.string()),
                "e164": pa.array([e164 for e164, _ in mapping.values()], pa.string()),
            }
        ),
    )
    try:
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE {TOMBSTONED_PHONES} AS
                SELECT phone_text FROM _load_phones WHERE e164 IS NOT NULL
                AND {digest_sql("phone", "e164")} IN (SELECT digest FROM {TOMBSTONES_TABLE})""",
            {"salt": salt(conn)},
        )
    finally:
        conn.unregister("_load_phones")
    return TOMBSTONED_PHONES


def _any_tombstone(conn: duckdb.DuckDBPyConnection) -> bool:
    return conn.execute(f"SELECT EXISTS (SELECT 1 FROM {TOMBSTONES_TABLE})").fetchone()[0]


def drop_tombstoned(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    typed_table: str,
    run_id: str,
    phone_region: str,
) -> int:
    """Delete rows of erased subjects from a staged load before it is stored; count them.
    Phones without a country code are read as `phone_region`'s, as identity reads them."""
    if spec.name in NOT_PERSONAL or not _any_tombstone(conn):
        return 0
    phones_table = _stage_tombstoned_phones(conn, spec, typed_table, phone_region)
    try:
        dropped = conn.execute(
            f"DELETE FROM {typed_table} WHERE {tombstoned_sql(spec, phones_table)} "
            "RETURNING _partition_date",
            {"salt": salt(conn)},
        ).fetchall()
    finally:
        if phones_table:
            conn.execute(f"DROP TABLE IF EXISTS {phones_table}")
    if not dropped:
        return 0
    hits = Counter(day for (day,) in dropped)
    conn.executemany(
        f"INSERT INTO {HITS_TABLE} VALUES (?, ?, ?, ?, now())",
        [[spec.name, day, n, run_id] for day, n in sorted(hits.items())],
    )
    return len(dropped)
