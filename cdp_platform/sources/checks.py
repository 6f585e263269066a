"""Checks run with every source load, reported beside the materialization.

Both warn rather than block: quarantined rows and odd timestamps are kept and
visible, and the layers below decide what they can use.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from cdp_platform.source_contracts import SourceSpec
from cdp_platform.sources.loading import LoadResult
from cdp_platform.sources.validation import quote

# More than this share of a load's rows in quarantine points at an export
# that changed shape, not at a few dirty rows.
MAX_QUARANTINE_SHARE = 0.05
# Source timestamps may run a little ahead of the file's day (time zones,
# clock skew); further ahead means the wrong file or a broken clock.
MAX_DAYS_AHEAD_OF_FILE = 1

QUARANTINE_CHECK = "quarantine_share_below_limit"
TIMESTAMP_CHECK = "modified_at_not_after_file_day"


def check_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=spec.name,
            description=f"At most {MAX_QUARANTINE_SHARE:.0%} of the rows read in a load are quarantined.",
        )
    ]
    if spec.modified_at:
        specs.append(
            dg.AssetCheckSpec(
                TIMESTAMP_CHECK,
                asset=spec.name,
                description=(
                    f"No loaded row's `{spec.column(spec.modified_at).name}` is more than "
                    f"{MAX_DAYS_AHEAD_OF_FILE} day after the day of its file."
                ),
            )
        )
    return specs


def quarantine_check(spec: SourceSpec, result: LoadResult) -> dg.AssetCheckResult:
    share = result.rows_quarantined / result.rows_read if result.rows_read else 0.0
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        asset_key=spec.name,
        passed=share <= MAX_QUARANTINE_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantine_share": round(share, 5),
            "rows_quarantined": result.rows_quarantined,
            "rows_read": result.rows_read,
        },
    )


def timestamp_check(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, days: list[str]
) -> dg.AssetCheckResult:
    day_list = ", ".join(f"DATE '{d}'" for d in days) or "NULL"
    (ahead,) = conn.execute(
        f"SELECT count(*) FROM {spec.raw_table} WHERE _partition_date IN ({day_list}) "
        f"AND {quote(spec.modified_at)} >= _partition_date + INTERVAL {MAX_DAYS_AHEAD_OF_FILE + 1} DAY"
    ).fetchone()
    return dg.AssetCheckResult(
        check_name=TIMESTAMP_CHECK,
        asset_key=spec.name,
        passed=ahead == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_ahead_of_file_day": ahead},
    )


def run_checks(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, result: LoadResult
) -> list[dg.AssetCheckResult]:
    results = [quarantine_check(spec, result)]
    if spec.modified_at:
        results.append(timestamp_check(conn, spec, [p.partition_date for p in result.partitions]))
    return results
