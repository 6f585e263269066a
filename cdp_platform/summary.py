"""The short warehouse summary printed after `cdp run`.

Each layer contributes a section; a section whose tables are still empty
is left out, so the summary grows with the platform.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from cdp_platform.resources.warehouse import table_exists
from cdp_platform.source_contracts import SOURCES
from cdp_platform.tables.activation import SYNC_LOG
from cdp_platform.tables.identity import IDENTITY_EDGES, IDENTITY_RECORDS, PERSON_ID_MAP
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS, REQUEST_MATCHES
from cdp_platform.tables.profiles import (
    ACCOUNT_MEMBERS,
    ACCOUNTS,
    CUSTOMER_SCORES,
    GOLDEN_PROFILES,
)
from cdp_platform.tables.segments import SEGMENT_SIZES
from cdp_platform.tables.sources import PARTITION_LOADS, TOMBSTONE_HITS

Section = tuple[str, list[str], list[tuple]]


def _empty(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return not conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]


def sources_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, PARTITION_LOADS):
        return None
    loads = {
        source: (files, read, loaded, quarantined)
        for source, files, read, loaded, quarantined in conn.execute(
            "SELECT source, count(file), sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            f"FROM {PARTITION_LOADS} GROUP BY source"
        ).fetchall()
    }
    rows = []
    for name, spec in SOURCES.items():
        if name not in loads:
            continue
        current = (
            conn.execute(f"SELECT count(*) FROM {spec.current_table}").fetchone()[0]
            if table_exists(conn, spec.current_table)
            else 0
        )
        rows.append((name, *loads[name], current))
    totals = tuple(sum(r[i] for r in rows) for i in range(1, 6))
    rows.append(("total", *totals))
    return (
        "Sources",
        ["source", "files", "rows read", "loaded", "quarantined", "current"],
        rows,
    )


def staging_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, IDENTITY_RECORDS):
        return None
    rows = conn.execute(
        "SELECT source, count(*), count(email), count(phone), count(user_id) "
        f"FROM {IDENTITY_RECORDS} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rows.append(("total", *(sum(r[i] for r in rows) for i in range(1, 5))))
    return (
        "Identity records (standardised, block-listed values removed)",
        ["source", "records", "with email", "with phone", "with user id"],
        rows,
    )


def identity_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, PERSON_ID_MAP):
        return None
    persons, records, largest = conn.execute(
        "SELECT count(*), sum(n), max(n) FROM "
        f"(SELECT count(*) AS n FROM {PERSON_ID_MAP} GROUP BY person_id)"
    ).fetchone()
    rows = [
        ("persons", persons),
        ("records", int(records or 0)),
        ("largest person (records)", largest or 0),
    ]
    rows += conn.execute(
        "SELECT 'links: ' || edge_kind || ' ' || identifier, count(*) "
        f"FROM {IDENTITY_EDGES} WHERE decision = 'linked' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rows += conn.execute(
        f"SELECT 'refused: ' || refusal, count(*) FROM {IDENTITY_EDGES} "
        "WHERE decision = 'refused' GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    return ("Identity", ["measure", "value"], rows)


def profiles_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, GOLDEN_PROFILES):
        return None
    row = conn.execute(
        "SELECT count(*), count(email), count(phone), count(postcode), "
        f"count(*) FILTER (WHERE len(sources) > 1) FROM {GOLDEN_PROFILES}"
    ).fetchone()
    labels = ["profiles", "with email", "with phone", "with postcode", "seen in 2+ sources"]
    rows = list(zip(labels, row, strict=True))
    rows += conn.execute(
        "SELECT 'churn risk: ' || coalesce(churn_risk, 'not scored (history too short)'), "
        f"count(*) FROM {CUSTOMER_SCORES} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    if table_exists(conn, ACCOUNT_MEMBERS):  # built with the accounts
        rows += conn.execute(
            f"SELECT 'B2B accounts', count(*) FROM {ACCOUNTS} UNION ALL "
            "SELECT 'persons at an account', count(DISTINCT person_id) "
            f"FROM {ACCOUNT_MEMBERS}"
        ).fetchall()
    return ("Golden profiles", ["measure", "value"], rows)


def segments_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, SEGMENT_SIZES):
        return None
    rows = conn.execute(
        f"""SELECT segment, size, holdout, entered, exited FROM {SEGMENT_SIZES}
           QUALIFY row_number() OVER (PARTITION BY segment ORDER BY recorded_at DESC) = 1
           ORDER BY segment"""
    ).fetchall()
    return ("Segments", ["segment", "members", "held out", "entered", "exited"], rows)


def activation_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if _empty(conn, SYNC_LOG):
        return None
    # Each sync's own last run: one Dagster run holds many syncs, and a run id that is
    # the last of one sync may be an earlier run of another.
    rows = conn.execute(
        f"""WITH last AS (SELECT sync, arg_max(run_id, logged_at) AS run_id
                         FROM {SYNC_LOG} GROUP BY sync)
           SELECT sync, operation, status, count(*) FROM {SYNC_LOG}
           JOIN last USING (sync, run_id)
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    return ("Activation (last run of each sync)", ["sync", "operation", "status", "records"], rows)


def privacy_section(conn: duckdb.DuckDBPyConnection) -> Section | None:
    if not table_exists(conn, REQUEST_MATCHES):
        return None
    rows = conn.execute(
        f"""SELECT 'requests', count(DISTINCT request_id) FROM {REQUEST_MATCHES}
           UNION ALL SELECT 'requests matching nobody', count(DISTINCT request_id)
             FILTER (WHERE person_id IS NULL) FROM {REQUEST_MATCHES}"""
    ).fetchall()
    rows += conn.execute(
        f"SELECT 'persons ' || status, count(*) FROM {PRIVACY_SUBJECTS} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rows += conn.execute(
        "SELECT 'rows of erased subjects dropped at loading', sum(rows)::BIGINT "
        f"FROM {TOMBSTONE_HITS} HAVING count(*) > 0"
    ).fetchall()
    return ("Privacy", ["measure", "value"], rows)


SECTIONS: list[Callable[[duckdb.DuckDBPyConnection], Section | None]] = [
    sources_section,
    staging_section,
    identity_section,
    profiles_section,
    privacy_section,
    segments_section,
    activation_section,
]


def render_table(headers: list[str], rows: list[tuple]) -> str:
    cells = [[str(h) for h in headers]] + [
        [f"{v:,}" if isinstance(v, int) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_summary(conn: duckdb.DuckDBPyConnection) -> str:
    parts = []
    for section in SECTIONS:
        result = section(conn)
        if result:
            title, headers, rows = result
            parts.append(f"{title}\n{render_table(headers, rows)}")
    return "\n\n".join(parts)
