"""Assets of privacy: data-subject requests matched to persons."""

import dagster as dg

from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.privacy.erasure import erase_subjects, record_erasure_log
from cdp_platform.privacy.requests import MATCHES_TABLE, SUBJECTS_TABLE, build_subjects
from cdp_platform.privacy.status import erased_persons, pending_sync_erasures, set_status
from cdp_platform.privacy.tombstones import record_tombstones
from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS, TOMBSTONES


@dg.asset(
    name="privacy_subjects",
    group_name="privacy",
    description=(
        "Data-subject requests matched to persons through the identity graph (an email on "
        f"a request reaches every record of its person) in `{MATCHES_TABLE}`, and who is "
        f"suppressed or erased in `{SUBJECTS_TABLE}`: the latest request decides, an "
        "erasure stands. Segments and syncs process these persons no further, so a "
        "suppression stops activation in the same run that loads it."
    ),
    deps=["privacy_requests", "person_id_map"],
    kinds={"duckdb", "sql"},
    tags={"layer": "privacy"},
    **WAREHOUSE_ASSET,
    metadata=PRIVACY_SUBJECTS.asset_metadata,
)
def privacy_subjects(
    warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        counts = build_subjects(conn, platform_config.identity())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": counts["persons_suppressed"] + counts["persons_erased"],
            **counts,
        }
    )


@dg.asset(
    name="erased_subjects",
    group_name="privacy",
    description=(
        "The erasure cascade in the warehouse: every erased subject's source records (current "
        "and every version), identity records, graph and id history, and every profiles and "
        "segments row are deleted, before the profiles are rebuilt in the same run. What "
        f"they were known by is kept only as salted hashes ({TOMBSTONES}), so their "
        "records arriving later are dropped at loading and counted, never stored."
    ),
    # Erasure reaches every table that holds a person's rows, these two included.
    deps=["privacy_subjects", "crm_companies", "pos_transactions"],
    kinds={"duckdb", "sql"},
    tags={"layer": "privacy"},
    **WAREHOUSE_ASSET,
)
def erased_subjects(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        # Hashes of what they were known by first: the erasure deletes the records.
        tombstones = record_tombstones(conn)
        removed = erase_subjects(conn)
        record_erasure_log(conn, removed, context.run.run_id)
        requests = erased_persons(conn)
        set_status(conn, [(r, "warehouse", "done", None) for r in sorted(set(requests.values()))])
        # Each sync holding them deletes them at its next run; until then, pending.
        set_status(conn, pending_sync_erasures(conn, requests))
        erased = len(requests)
    return dg.MaterializeResult(
        metadata={
            "persons_erased": erased,
            "rows_removed": sum(removed.values()),
            "tombstones_added": tombstones,
            "removed_by_table": metadata_table(
                [("table", "string"), ("rows", "int")], sorted(removed.items())
            ),
        }
    )
