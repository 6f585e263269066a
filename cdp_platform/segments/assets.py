"""One asset per declared segment, built from `config/segments.yaml` by a factory."""

import dagster as dg
import yaml

from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.conditions import after_inputs_change, gated
from cdp_platform.profiles.assets import AsOfConfig, resolve_as_of
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.profiles.traits import loaded_tables
from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.segments.config import load_segments, references
from cdp_platform.segments.membership import EVENTS_TABLE, Evaluation, evaluate_segment
from cdp_platform.segments.preview import current_members_sql, masked_sample, sample_table
from cdp_platform.segments.spec import SegmentSpec
from cdp_platform.tables.segments import SEGMENT_MEMBERSHIPS

SEGMENTS_GROUP = "segments"
SIZE_CHECK = "size_change_within_bounds"
SAMPLE_ROWS = 5
# What every segment reads: profiles, traits, scores, consent, accounts and lead scores.
PROFILE_DEPS = [
    "golden_profiles",
    "customer_traits",
    "customer_scores",
    "consent_state",
    "lead_scores",
    "privacy_subjects",
]


def segment_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([SEGMENTS_GROUP, name])


def size_check(spec: SegmentSpec, result: Evaluation) -> dg.AssetCheckResult:
    """Did the size move by more than `max_change` of the previous size?"""
    bounds = spec.size_check
    before = result.previous_size
    severity = (
        dg.AssetCheckSeverity.ERROR if bounds.action == "block" else dg.AssetCheckSeverity.WARN
    )
    metadata = {"size": result.size, "previous_size": before, "max_change": bounds.max_change}
    if before is None or before < bounds.min_previous_size:
        return dg.AssetCheckResult(
            check_name=SIZE_CHECK,
            passed=True,
            severity=severity,
            metadata={**metadata, "note": "no comparable previous size"},
        )
    change = abs(result.size - before) / before
    return dg.AssetCheckResult(
        check_name=SIZE_CHECK,
        passed=change <= bounds.max_change,
        severity=severity,
        metadata={**metadata, "change": round(change, 4)},
    )


def build_segment_asset(spec: SegmentSpec) -> dg.AssetsDefinition:
    key = segment_key(spec.name)
    block = spec.size_check.action == "block"
    spec_yaml = yaml.safe_dump(
        spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True),
        sort_keys=False,
    )

    @dg.asset(
        key=key,
        group_name=SEGMENTS_GROUP,
        description=spec.description,
        owners=spec.owners or WAREHOUSE_ASSET["owners"],
        pool=WAREHOUSE_ASSET["pool"],
        kinds={"duckdb", "sql"},
        tags={"layer": "segments", **spec.tags},
        deps=[*PROFILE_DEPS, *(segment_key(name) for name in references(spec))],
        # Re-evaluated whenever profiles (or a referenced segment) change, not past
        # a failed blocking check of a segment it builds on.
        automation_condition=gated(after_inputs_change()),
        metadata={
            **SEGMENT_MEMBERSHIPS.asset_metadata,
            "spec": dg.MetadataValue.md(f"```yaml\n{spec_yaml}```"),
            "holdout_percent": spec.holdout_percent,
        },
        check_specs=[
            dg.AssetCheckSpec(
                SIZE_CHECK,
                asset=key,
                blocking=block,
                description=(
                    f"The size moved by at most {spec.size_check.max_change:.0%} since the "
                    f"last run ({'blocks' if block else 'warns'} otherwise)."
                ),
            )
        ],
    )
    def _segment(
        context: dg.AssetExecutionContext,
        config: AsOfConfig,
        warehouse: WarehouseResource,
        platform_config: PlatformConfig,
    ) -> dg.MaterializeResult:
        with warehouse.get_connection() as conn:
            as_of = resolve_as_of(conn, config, load_profiles_config(platform_config.profiles_path))
            result = evaluate_segment(conn, spec, as_of, loaded_tables(conn), context.run.run_id)
            sample = masked_sample(conn, current_members_sql(spec.name), SAMPLE_ROWS)
        context.log.info(
            f"segment {spec.name}: {result.size} members (+{result.entered} -{result.exited})"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.size,
                "size": result.size,
                "entered": result.entered,
                "exited": result.exited,
                "holdout": result.holdout,
                "as_of": as_of,
                "events_table": EVENTS_TABLE,
                "sample": sample_table(sample),
            },
            check_results=[size_check(spec, result)],
        )

    return _segment


def segment_assets() -> list[dg.AssetsDefinition]:
    """An asset per declared segment; an invalid spec stops the code location here."""
    return [build_segment_asset(spec) for spec in load_segments()]
