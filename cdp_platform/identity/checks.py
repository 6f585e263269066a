"""Checks on the identity layer, evaluated with each materialization.

The cluster-size check blocks: an over-merged person (one shared value
chaining hundreds of people) must not reach profiles or destinations. The
others warn, and their figures are plotted run over run in the UI.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from cdp_platform.identity.clusters import HISTORY_TABLE, MAP_TABLE
from cdp_platform.identity.stable_ids import CHANGE_EVENTS
from cdp_platform.identity_config import IdentityChecks

CLUSTER_CHECK = "largest_person_below_cap"
SINGLETON_CHECK = "singleton_share_below_limit"
CHURN_CHECK = "id_churn_below_limit"
BLOCKED_CHECK = "blocked_value_share_below_limit"


def person_map_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CLUSTER_CHECK,
            asset="person_id_map",
            blocking=True,
            description="No person holds more records than `checks.max_cluster_size`.",
        ),
        dg.AssetCheckSpec(
            SINGLETON_CHECK,
            asset="person_id_map",
            description="The share of single-record persons stays under its bound.",
        ),
        dg.AssetCheckSpec(
            CHURN_CHECK,
            asset="person_id_map",
            description="Few earlier persons change id (merge or split) in one run.",
        ),
    ]


def records_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            BLOCKED_CHECK,
            asset="identity_records",
            description="Blocked or invalid values stay a small share of the emails and phones present.",
        )
    ]


def person_map_checks(
    conn: duckdb.DuckDBPyConnection, bounds: IdentityChecks, run_id: str, previous_persons: int
) -> list[dg.AssetCheckResult]:
    largest, persons, singletons = conn.execute(
        f"""SELECT coalesce(max(n), 0), count(*), count(*) FILTER (WHERE n = 1)
        FROM (SELECT count(*) AS n FROM {MAP_TABLE} GROUP BY person_id)"""
    ).fetchone()
    (changed,) = conn.execute(
        f"SELECT count(DISTINCT other_person_id) FROM {HISTORY_TABLE} "
        f"WHERE run_id = ? AND event IN {CHANGE_EVENTS}",
        [run_id],
    ).fetchone()
    singleton_share = singletons / persons if persons else 0.0
    churn = changed / previous_persons if previous_persons else 0.0
    return [
        dg.AssetCheckResult(
            check_name=CLUSTER_CHECK,
            asset_key="person_id_map",
            passed=largest <= bounds.max_cluster_size,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"largest_person_records": largest, "cap": bounds.max_cluster_size},
        ),
        dg.AssetCheckResult(
            check_name=SINGLETON_CHECK,
            asset_key="person_id_map",
            passed=singleton_share <= bounds.max_singleton_share,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"singleton_share": round(singleton_share, 4)},
        ),
        dg.AssetCheckResult(
            check_name=CHURN_CHECK,
            asset_key="person_id_map",
            passed=churn <= bounds.max_id_churn,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"ids_changed": changed, "id_churn": round(churn, 5)},
        ),
    ]


def blocked_values_check(present: int, blocked: int, bounds: IdentityChecks) -> dg.AssetCheckResult:
    share = blocked / present if present else 0.0
    return dg.AssetCheckResult(
        check_name=BLOCKED_CHECK,
        asset_key="identity_records",
        passed=share <= bounds.max_blocked_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"blocked_or_invalid": blocked, "present": present, "share": round(share, 4)},
    )
