"""One asset per declared sync, built from `config/syncs.yaml` by a factory."""

import dagster as dg

from cdp_platform.activation.config import SyncsFile, SyncSpec, load_syncs
from cdp_platform.activation.engine import SyncReport, run_sync
from cdp_platform.activation.resources import MissingCredentialError, resource_key
from cdp_platform.activation.rows import sync_rows
from cdp_platform.activation.state import LOG_TABLE
from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.conditions import after_inputs_change, gated
from cdp_platform.freshness import sync_freshness
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.privacy.status import erased_persons, settle_sync_erasures
from cdp_platform.segments.assets import PROFILE_DEPS, segment_key

ACTIVATION_GROUP = "activation"
TOP_ERRORS = 5


class SyncRunConfig(dg.Config):
    dry_run: bool = False  # plan and count, send nothing
    full_resync: bool = False  # send every row again; removals cannot be computed


def report_metadata(report: SyncReport) -> dict:
    return {
        "dry_run": report.dry_run,
        "records_sent": report.sent,
        "records_failed": report.failed,
        "requests": report.requests,
        "planned": metadata_table(
            [("operation", "string"), ("records", "int")], sorted(report.planned.items())
        ),
        "results": metadata_table(
            [("operation", "string"), ("status", "string"), ("records", "int")],
            ((op, status, n) for (op, status), n in sorted(report.results.items())),
        ),
        "top_errors": metadata_table(
            [("error", "string"), ("records", "int")], report.errors.most_common(TOP_ERRORS)
        ),
    }


def automation_condition(sync: SyncSpec) -> dg.AutomationCondition:
    """Run after the inputs change (or on the sync's cron), never past a failed
    blocking check upstream: a segment whose size swung too far stops here."""
    if sync.automation == "eager":
        return gated(after_inputs_change())
    return gated(dg.AutomationCondition.on_cron(sync.automation))


def build_sync_asset(sync: SyncSpec, parsed: SyncsFile) -> dg.AssetsDefinition:
    destination = parsed.destinations[sync.destination]
    purpose = sync.purpose or destination.purpose
    deps = list(PROFILE_DEPS)
    if sync.source.segment:
        deps.append(segment_key(sync.source.segment))
    key = resource_key(sync.destination)

    @dg.asset(
        key=dg.AssetKey([ACTIVATION_GROUP, sync.name]),
        group_name=ACTIVATION_GROUP,
        description=f"{sync.description} ({sync.mode} to {sync.destination}, needs "
        f"{purpose} consent; every record in `{LOG_TABLE}`)",
        owners=sync.owners or WAREHOUSE_ASSET["owners"],
        pool=WAREHOUSE_ASSET["pool"],
        kinds={destination.type, "duckdb"},
        tags={"layer": "activation"},
        deps=deps,
        required_resource_keys={"warehouse", key},
        automation_condition=automation_condition(sync),
        freshness_policy=sync_freshness(sync.automation),
        metadata={
            "destination": sync.destination,
            "mode": sync.mode,
            "consent_purpose": purpose,
            "identifier": sync.identifier,
            "mapping": dg.MetadataValue.json(sync.mapping),
        },
    )
    def _sync(context: dg.AssetExecutionContext, config: SyncRunConfig) -> dg.MaterializeResult:
        resource = getattr(context.resources, key)

        def client_for(erased: dict[str, str]):
            try:
                return resource.build(
                    audience=sync.source.segment,
                    columns=list(sync.mapping),
                    sync=sync.name,
                    erased=frozenset(erased),
                )
            except MissingCredentialError as missing:
                # Only this sync fails; the asset's page shows why, by the variable's name.
                context.log_event(
                    dg.AssetObservation(asset_key=context.asset_key, metadata=missing.metadata)
                )
                if not config.dry_run:
                    raise
                context.log.warning(f"{sync.name}: {missing.description}; planning only")
                return None  # a dry run plans and counts, and never calls the destination

        if config.full_resync and sync.mode in ("mirror", "remove"):
            context.log.warning(
                f"{sync.name}: full resync sends every row again and cannot compute removals; "
                "records the destination holds beyond the model stay there"
            )
        with context.resources.warehouse.get_connection() as conn:
            rows = sync_rows(conn, sync, purpose)
            erased = erased_persons(conn)
            report = run_sync(
                conn,
                sync.name,
                sync.mode,
                rows,
                client_for(erased),
                context.run.run_id,
                dry_run=config.dry_run,
                full_resync=config.full_resync,
                erased=frozenset(erased),
            )
            erasures = {} if config.dry_run else settle_sync_erasures(conn, sync.name, erased)
        context.log.info(
            f"{sync.name}: planned {report.planned}; sent {report.sent}, failed {report.failed}"
        )
        if report.disabled:
            raise dg.Failure(
                f"{sync.destination} stopped the sync: {report.disabled}",
                metadata=report_metadata(report),
            )
        return dg.MaterializeResult(metadata={**report_metadata(report), **erasures})

    return _sync


def sync_assets(parsed: SyncsFile | None = None) -> list[dg.AssetsDefinition]:
    parsed = parsed or load_syncs()
    return [build_sync_asset(sync, parsed) for sync in parsed.syncs]
