"""`campaign_lift`: every sync that sends a segment with a holdout, measured."""

import dagster as dg

from cdp_platform.activation.assets import ACTIVATION_GROUP
from cdp_platform.activation.config import load_syncs
from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.conditions import after_inputs_change, gated
from cdp_platform.insight.lift import LIFT_TABLE, MIN_HELD_OUT, Lift, measure_lift, write_lift
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.profiles.activity import activity_sql
from cdp_platform.profiles.traits import latest_loaded_day, loaded_sources
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.segments.assets import segment_key
from cdp_platform.segments.config import load_segments

INSIGHT_GROUP = "insight"
LIFT_CHECK = "holdout_large_enough"


class LiftConfig(dg.Config):
    window_days: int = 30  # days after entering a segment in which a purchase counts


def measured_links() -> list[tuple[str, str]]:
    """(sync, segment) of every sync sending a segment that keeps a holdout."""
    held_out = {s.name for s in load_segments() if s.holdout_percent}
    return [
        (sync.name, sync.source.segment)
        for sync in load_syncs().syncs
        if sync.source.segment in held_out
    ]


# Read once, as the syncs' and segments' own assets are: the graph is fixed at load.
LINKS = measured_links()


def _lift_rows(lifts: list[Lift]):
    for lift in lifts:
        conversion, low, high = lift.conversion_lift
        revenue, revenue_low, revenue_high = lift.revenue_lift
        yield (
            lift.segment,
            lift.sync,
            lift.sent.members,
            lift.held_out.members,
            round(conversion, 4),
            f"{low:+.3f} .. {high:+.3f}",
            round(revenue, 2),
            f"{revenue_low:+.2f} .. {revenue_high:+.2f}",
        )


@dg.asset(
    name="campaign_lift",
    group_name=INSIGHT_GROUP,
    description=(
        f"`{LIFT_TABLE}`: for every sync sending a segment with a holdout, the members it "
        "sent against the segment's held-out members over a window after they entered: "
        "conversion (any purchase, web or store) and revenue per member, and the "
        "differences with 95 % confidence intervals. One row per segment, sync and as-of "
        "day, kept over runs."
    ),
    deps=[
        *{dg.AssetKey([ACTIVATION_GROUP, sync]) for sync, _ in LINKS},
        *{segment_key(segment) for _, segment in LINKS},
        "person_id_map",
        "shop_orders",
        "pos_transactions",
    ],
    kinds={"duckdb", "sql"},
    tags={"layer": "insight"},
    automation_condition=gated(after_inputs_change()),
    check_specs=[
        dg.AssetCheckSpec(
            LIFT_CHECK,
            asset="campaign_lift",
            description=(
                f"Warns when a segment's holdout has fewer than {MIN_HELD_OUT} members whose "
                "window has passed: too few to tell an effect from chance."
            ),
        )
    ],
    **WAREHOUSE_ASSET,
)
def campaign_lift(
    context: dg.AssetExecutionContext, config: LiftConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    lifts: list[Lift] = []
    with warehouse.get_connection() as conn:
        as_of = latest_loaded_day(conn)
        if as_of is not None:
            purchases = activity_sql("purchases", as_of, loaded_sources(conn))
            lifts = measure_lift(conn, LINKS, purchases, as_of, config.window_days)
            write_lift(conn, lifts, as_of)
    small = [f"{lift.segment} ({lift.held_out.members})" for lift in lifts if not lift.measurable]
    context.log.info(f"campaign_lift: {len(lifts)} sync(s) measured as of {as_of}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(lifts),
            "as_of": as_of or "nothing loaded",
            "window_days": config.window_days,
            "lift": metadata_table(
                [
                    ("segment", "string"),
                    ("sync", "string"),
                    ("sent", "int"),
                    ("held_out", "int"),
                    ("conversion_lift", "float"),
                    ("conversion_lift_95", "string"),
                    ("revenue_lift", "float"),
                    ("revenue_lift_95", "string"),
                ],
                _lift_rows(lifts),
            ),
            # One figure per sync, so the UI plots each over the runs.
            **{
                f"conversion_lift_{lift.sync}": dg.MetadataValue.float(
                    round(lift.conversion_lift[0], 4)
                )
                for lift in lifts
                if lift.measurable
            },
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=LIFT_CHECK,
                passed=not small,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"too_small": ", ".join(small) or "none"},
            )
        ],
    )
