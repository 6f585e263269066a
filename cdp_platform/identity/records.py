"""Build `staging.identity_records` in the warehouse."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from cdp_platform.identity.standardise import (
    RAW_FIELDS,
    SOURCE_SELECTS,
    identity_records_sql,
    raw_union,
)
from cdp_platform.identity_config import IdentityConfig, nicknames
from cdp_platform.phones import e164_table
from cdp_platform.source_contracts import SOURCES
from cdp_platform.tables.identity import IDENTITY_RECORDS, NICKNAMES

TABLE = IDENTITY_RECORDS


@dataclass
class RecordsSummary:
    by_source: dict[str, int]
    filled: dict[str, float]  # share of records with each field present
    blocked: dict[str, int]  # values present in the source but blocked or invalid
    present: dict[str, int]  # values present in the source


def _present_sources(conn: duckdb.DuckDBPyConnection) -> list[str]:
    existing = {
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sources'"
        ).fetchall()
    }
    return [s for s in SOURCE_SELECTS if SOURCES[s].name in existing]


def build_identity_records(
    conn: duckdb.DuckDBPyConnection, config: IdentityConfig
) -> RecordsSummary:
    sources = _present_sources(conn)
    if not sources:
        raise ValueError(
            "no person-bearing source tables in the warehouse yet; load the sources first"
        )
    raw_cte = f"WITH raw ({', '.join(RAW_FIELDS)}) AS ({raw_union(sources)})"
    phones = [
        value
        for (value,) in conn.execute(
            f"{raw_cte} SELECT DISTINCT phone FROM raw WHERE phone IS NOT NULL"
        ).fetchall()
    ]
    mapping = e164_table(phones, config.default_phone_region)
    conn.register(
        "_phones",
        pa.table(  # typed: with no phones at all (FEBRL) the columns would be NULL-typed
            {
                "phone_text": pa.array(list(mapping), pa.string()),
                "e164": pa.array([e164 for e164, _ in mapping.values()], pa.string()),
                "kind": pa.array([kind for _, kind in mapping.values()], pa.string()),
            }
        ),
    )
    names = nicknames()
    conn.register("_nicknames", pa.table({"name": list(names), "canonical": list(names.values())}))
    conn.execute(f"CREATE OR REPLACE TABLE {NICKNAMES} AS SELECT * FROM _nicknames")
    conn.execute(
        f"CREATE OR REPLACE TABLE {TABLE} AS {identity_records_sql(config, sources, '_phones')}"
    )
    conn.unregister("_phones")
    conn.unregister("_nicknames")
    return summarise(conn, raw_cte)


def summarise(conn: duckdb.DuckDBPyConnection, raw_cte: str) -> RecordsSummary:
    by_source = dict(
        conn.execute(f"SELECT source, count(*) FROM {TABLE} GROUP BY 1 ORDER BY 1").fetchall()
    )
    fields = ["first_name", "last_name", "email", "phone", "dob", "postcode", "street"]
    shares = conn.execute(
        f"SELECT {', '.join(f'avg(({f} IS NOT NULL)::INT)' for f in fields)} FROM {TABLE}"
    ).fetchone()
    raw_counts = conn.execute(
        f"{raw_cte} SELECT count(nullif(trim(email), '')), count(nullif(trim(phone), '')) FROM raw"
    ).fetchone()
    kept = conn.execute(f"SELECT count(email), count(phone) FROM {TABLE}").fetchone()
    return RecordsSummary(
        by_source=by_source,
        filled={f: round(s or 0.0, 4) for f, s in zip(fields, shares, strict=True)},
        blocked={"email": raw_counts[0] - kept[0], "phone": raw_counts[1] - kept[1]},
        present={"email": raw_counts[0], "phone": raw_counts[1]},
    )
