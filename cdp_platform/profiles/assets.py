"""Assets of the profiles layer."""

import dagster as dg

from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.masking import mask_value
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.profiles.checks import (
    consent_check,
    consent_check_specs,
    golden_check_specs,
    golden_checks,
    scores_check_specs,
    scores_checks,
    traits_check_specs,
    traits_nulls_check,
)
from cdp_platform.profiles.config import ProfilesConfig, load_profiles_config
from cdp_platform.profiles.consent import STATE_TABLE, STATEMENTS_TABLE, build_consent
from cdp_platform.profiles.golden import (
    GOLDEN_TABLE,
    OVERRIDES_TABLE,
    PROVENANCE_TABLE,
    build_golden_profiles,
)
from cdp_platform.profiles.scores import (
    MODELS_TABLE,
    SCORES_TABLE,
    ModelReport,
    build_scores,
    model_summary,
)
from cdp_platform.profiles.timeline import TIMELINE_TABLE, build_timeline
from cdp_platform.profiles.traits import TRAITS_TABLE, build_traits, latest_loaded_day
from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.tables.profiles import (
    CONSENT_STATE,
    CUSTOMER_SCORES,
    CUSTOMER_TIMELINE,
    GOLDEN_PROFILES,
)

# What every asset of this layer shares: a warehouse table in group `profiles`.
PROFILES_ASSET = {
    "group_name": "profiles",
    "kinds": {"duckdb", "sql"},
    "tags": {"layer": "profiles"},
    **WAREHOUSE_ASSET,
}
# The columns of the consent counts in the metadata.
CONSENT_COUNTS = ("purpose", "granted", "denied", "unknown")
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = ("person_id", "first_name", "last_name", "email", "phone", "postcode", "country")


def _masked_preview(rows: list[tuple]) -> dg.MetadataValue:
    return metadata_table(
        [(c, "string") for c in PREVIEW_COLUMNS],
        (
            [
                v if c in ("person_id", "country") or v is None else mask_value(c, v)
                for c, v in zip(PREVIEW_COLUMNS, row, strict=True)
            ]
            for row in rows
        ),
    )


@dg.asset(
    name="golden_profiles",
    description=(
        f"One profile per person in `{GOLDEN_TABLE}`: each attribute group (name, email, "
        "phone, address, birth date) taken from one source record by the survivorship rules "
        f"of `config/profiles.yaml`, every contact point kept beside the chosen one; "
        f"`{PROVENANCE_TABLE}` says which record and rule each value came from. Values a "
        f"data team pins in `{OVERRIDES_TABLE}` win on every run and follow merges."
    ),
    # Erased subjects leave the warehouse before any profile is built.
    deps=["person_id_map", "erased_subjects"],
    **PROFILES_ASSET,
    metadata=GOLDEN_PROFILES.asset_metadata,
    check_specs=golden_check_specs(),
)
def golden_profiles(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    config = load_profiles_config(platform_config.profiles_path)
    with warehouse.get_connection() as conn:
        summary = build_golden_profiles(conn, config)
        sample = conn.execute(
            f"SELECT {', '.join(PREVIEW_COLUMNS)} FROM {GOLDEN_TABLE} "
            f"USING SAMPLE {PREVIEW_ROWS} ROWS (reservoir, 7)"
        ).fetchall()
        checks = golden_checks(conn, GOLDEN_TABLE, config.checks)
    context.log.info(f"golden_profiles: {summary.persons} persons")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.persons,
            "values_pinned": summary.pinned,
            "attributes_filled": metadata_table(
                [("attribute", "string"), ("share_of_persons", "float")],
                [(a, round(share, 4)) for a, share in summary.filled.items()],
            ),
            "preview": _masked_preview(sample),
        },
        check_results=checks,
    )


def traits_schema() -> dg.TableSchema:
    """The traits table's columns, from the declared traits (read when the code loads,
    so an invalid trait stops the code location with the file and the field)."""
    columns = [
        dg.TableColumn("person_id", "VARCHAR", "stable person id"),
        dg.TableColumn("as_of", "DATE", "the day trait windows count back from"),
    ]
    for trait in load_profiles_config().traits:
        how = trait.expression or " ".join(
            part
            for part in (
                f"{trait.aggregate}({trait.column or '*'}) of {trait.activity}",
                f"where {trait.where}" if trait.where else "",
                f"in the last {trait.window_days} days" if trait.window_days else "",
            )
            if part
        )
        text = f"{trait.description}: {how}" if trait.description else how
        columns.append(dg.TableColumn(trait.name, "", text))
    return dg.TableSchema(columns=columns)


class AsOfConfig(dg.Config):
    as_of: str | None = None  # YYYY-MM-DD; overrides config/profiles.yaml for this run


def resolve_as_of(conn, config: AsOfConfig, profiles: ProfilesConfig) -> str:
    """The day counted up to: the run's, else the configuration's, else the last loaded."""
    as_of = config.as_of or (profiles.as_of and str(profiles.as_of)) or latest_loaded_day(conn)
    if as_of is None:
        raise ValueError("no source day loaded yet and no as_of set: nothing to count up to")
    return as_of


@dg.asset(
    name="customer_traits",
    description=(
        f"Computed traits per person in `{TRAITS_TABLE}`, declared in `config/profiles.yaml` "
        "and compiled to SQL: omnichannel orders and revenue, order dates and value, "
        "recency/frequency/monetary scores, tickets and satisfaction, email status and "
        "rating, web sessions and pageviews, lifecycle stage. Windows count back from the "
        "as-of day (the latest day loaded unless set), so a rebuild is reproducible."
    ),
    # Till receipts reach a person by loyalty card, outside identity: read directly.
    deps=["golden_profiles", "pos_transactions"],
    **PROFILES_ASSET,
    metadata={"dagster/table_name": TRAITS_TABLE, "dagster/column_schema": traits_schema()},
    check_specs=traits_check_specs(),
)
def customer_traits(
    context: dg.AssetExecutionContext,
    config: AsOfConfig,
    warehouse: WarehouseResource,
    platform_config: PlatformConfig,
) -> dg.MaterializeResult:
    profiles = load_profiles_config(platform_config.profiles_path)
    with warehouse.get_connection() as conn:
        as_of = resolve_as_of(conn, config, profiles)
        persons = build_traits(conn, profiles.traits, as_of, GOLDEN_TABLE)
        filled = conn.execute(
            f"SELECT {', '.join(f'count({t.name})' for t in profiles.traits)} FROM {TRAITS_TABLE}"
        ).fetchone()
        stages = (
            conn.execute(
                f"SELECT lifecycle_stage, count(*) FROM {TRAITS_TABLE} GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
            if any(t.name == "lifecycle_stage" for t in profiles.traits)
            else []
        )
    context.log.info(f"customer_traits: {len(profiles.traits)} traits for {persons} persons")
    metadata = {
        "dagster/row_count": persons,
        "as_of": as_of,
        "traits": len(profiles.traits),
        "traits_filled": metadata_table(
            [("trait", "string"), ("share_with_a_value", "float")],
            [
                (t.name, round(n / persons, 4) if persons else None)
                for t, n in zip(profiles.traits, filled, strict=True)
            ],
        ),
    }
    if stages:
        metadata["lifecycle_stages"] = metadata_table(
            [("stage", "string"), ("persons", "int")], stages
        )
    null_shares = {
        t.name: (1 - n / persons if persons else 0.0)
        for t, n in zip(profiles.traits, filled, strict=True)
    }
    bounds = {t.name: t.max_null_share for t in profiles.traits if t.max_null_share is not None}
    return dg.MaterializeResult(
        metadata=metadata, check_results=[traits_nulls_check(null_shares, bounds)]
    )


@dg.asset(
    name="consent_state",
    description=(
        f"Consent per person and purpose in `{STATE_TABLE}`: the latest statement from CRM "
        "subscription status, Mailchimp status, Shopify Accepts Marketing or identify traits "
        "wins (a denial on a tie); no statement is `unknown`, which activation treats as "
        f"denied. Every statement, dated when it was made, is in `{STATEMENTS_TABLE}`."
    ),
    deps=["golden_profiles"],
    **PROFILES_ASSET,
    metadata=CONSENT_STATE.asset_metadata,
    check_specs=consent_check_specs(),
)
def consent_state(
    warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    bounds = load_profiles_config(platform_config.profiles_path).checks
    with warehouse.get_connection() as conn:
        counts = build_consent(conn, GOLDEN_TABLE)
        statements = conn.execute(f"SELECT count(*) FROM {STATEMENTS_TABLE}").fetchone()[0]
    email = counts["email_marketing"]
    persons = sum(email.values())
    known = persons - email.get("unknown", 0)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(sum(c.values()) for c in counts.values()),
            "statements": statements,
            "by_purpose": metadata_table(
                [(c, "int" if c != "purpose" else "string") for c in CONSENT_COUNTS],
                [
                    (purpose, *(c.get(status, 0) for status in CONSENT_COUNTS[1:]))
                    for purpose, c in counts.items()
                ],
            ),
            **{f"{purpose}_granted": c.get("granted", 0) for purpose, c in counts.items()},
        },
        check_results=[consent_check(known, persons, bounds)],
    )


@dg.asset(
    name="customer_timeline",
    description=(
        f"Every order, in-store receipt, support ticket, consent statement and web session "
        f"of each person in time order, with a one-line summary, in `{TIMELINE_TABLE}`: "
        "what a service team looks at first. Up to the same as-of day as the traits."
    ),
    deps=["consent_state", "pos_transactions"],
    **PROFILES_ASSET,
    metadata=CUSTOMER_TIMELINE.asset_metadata,
)
def customer_timeline(
    config: AsOfConfig, warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        as_of = resolve_as_of(conn, config, load_profiles_config(platform_config.profiles_path))
        rows = build_timeline(conn, as_of)
        kinds = conn.execute(
            f"SELECT kind, count(*) FROM {TIMELINE_TABLE} GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "as_of": as_of,
            "by_kind": metadata_table([("kind", "string"), ("entries", "int")], kinds),
        }
    )


def _model_tables(report: ModelReport) -> dict[str, dg.MetadataValue]:
    """A model run's figures and, for churn, its calibration on the holdout."""
    tables = {
        f"{report.name}_model": metadata_table(
            [("measure", "string"), ("value", "string")], model_summary(report)
        )
    }
    if report.calibration:
        tables[f"{report.name}_calibration"] = metadata_table(
            [("predicted", "float"), ("observed", "float"), ("persons", "int")],
            [(round(p, 3), round(o, 3), n) for p, o, n in report.calibration],
        )
    return tables


@dg.asset(
    name="customer_scores",
    description=(
        f"Churn risk and predicted customer lifetime value for every person in "
        f"`{SCORES_TABLE}`. Each model is fitted on history, judged on a later window it "
        "never saw against a naive rule (days since last purchase; average spend), "
        "refitted on the latest known window and scores everyone as of the as-of day. "
        f"Each run's model version, windows and holdout figures go to `{MODELS_TABLE}`."
    ),
    deps=["customer_traits"],
    **PROFILES_ASSET,
    metadata=CUSTOMER_SCORES.asset_metadata,
    check_specs=scores_check_specs(),
)
def customer_scores(
    context: dg.AssetExecutionContext,
    config: AsOfConfig,
    warehouse: WarehouseResource,
    platform_config: PlatformConfig,
) -> dg.MaterializeResult:
    profiles = load_profiles_config(platform_config.profiles_path)
    with warehouse.get_connection() as conn:
        as_of = resolve_as_of(conn, config, profiles)
        churn, value = build_scores(conn, profiles.scores, as_of, GOLDEN_TABLE)
        persons, bands = conn.execute(
            f"SELECT count(*), histogram(coalesce(churn_risk, 'unscored')) FROM {SCORES_TABLE}"
        ).fetchone()
        bands = bands or {}  # histogram() of no rows (every person erased) is NULL
    for report in (churn, value):
        context.log.info(
            f"{report.name} model {report.version}: {report.metrics}"
            if report.trained
            else f"{report.name} model not trained: {report.reason}"
        )
    metadata = {
        "dagster/row_count": persons,
        "as_of": as_of,
        **_model_tables(churn),
        **_model_tables(value),
        "churn_risk": metadata_table(
            [("risk", "string"), ("persons", "int")], sorted(bands.items())
        ),
    }
    # Plotted run over run in the UI.
    for report, keys in (
        (churn, ("auc_customers", "recency_auc_customers", "brier", "calibration_error")),
        (value, ("mae", "average_spend_mae")),
    ):
        for key in keys if report.trained else ():
            metadata[f"{report.name}_{key}"] = round(report.metrics[key], 4)
    return dg.MaterializeResult(metadata=metadata, check_results=scores_checks(churn, value))
