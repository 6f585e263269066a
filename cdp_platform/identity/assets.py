"""Assets of the staging and identity layers."""

import dagster as dg

from cdp_platform.asset_defaults import WAREHOUSE_ASSET
from cdp_platform.identity import splink_model
from cdp_platform.identity.checks import (
    blocked_values_check,
    person_map_check_specs,
    person_map_checks,
    records_check_specs,
)
from cdp_platform.identity.clusters import MAP_TABLE, assign_stable_ids, previous_person_count
from cdp_platform.identity.linking import (
    CLUSTERS_TABLE,
    EDGES_TABLE,
    probability_bands,
    resolve_persons,
)
from cdp_platform.identity.model_store import ModelStore, needs_retraining
from cdp_platform.identity.nodes import build_nodes
from cdp_platform.identity.records import TABLE, build_identity_records
from cdp_platform.identity.review import QUEUE_TABLE, build_queue, labelled_node_pairs
from cdp_platform.identity.splink_logging import splink_logs_to
from cdp_platform.metadata_tables import metadata_table
from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.source_contracts import PERSON_SOURCES
from cdp_platform.tables.identity import (
    IDENTITY_EDGES,
    IDENTITY_RECORDS,
    MODEL_VERSIONS,
    PERSON_ID_HISTORY,
    PERSON_ID_MAP,
    REVIEW_QUEUE,
)


@dg.asset(
    name="identity_records",
    group_name="staging",
    description=(
        "One standardised row per person-bearing source record (per anonymousId for web "
        f"events) in `{TABLE}`: names, emails, E.164 phones, birth dates, postcodes, streets "
        "and strong identifiers in one spelling; block-listed values are NULL."
    ),
    deps=list(PERSON_SOURCES),
    kinds={"duckdb", "sql"},
    tags={"layer": "staging"},
    **WAREHOUSE_ASSET,
    metadata=IDENTITY_RECORDS.asset_metadata,
    check_specs=records_check_specs(),
)
def identity_records(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    config = platform_config.identity()
    with warehouse.get_connection() as conn:
        summary = build_identity_records(conn, config)
        nodes = build_nodes(conn, TABLE, list(config.clustering.max_values_per_person))
    context.log.info(f"identity_records: {sum(summary.by_source.values())} records")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(summary.by_source.values()),
            "identity_nodes": nodes,
            "records_by_source": metadata_table(
                [("source", "string"), ("records", "int")], summary.by_source.items()
            ),
            "fields_present": metadata_table(
                [("field", "string"), ("share_present", "float")],
                ((field, round(share, 4)) for field, share in summary.filled.items()),
            ),
            "emails_blocked_or_invalid": summary.blocked["email"],
            "phones_blocked_or_invalid": summary.blocked["phone"],
        },
        check_results=[
            blocked_values_check(
                sum(summary.present.values()), sum(summary.blocked.values()), config.checks
            )
        ],
    )


class IdentityModelConfig(dg.Config):
    retrain: bool = False  # train again even though the evidence has not changed


MODEL_CHECK = "model_trained_on_its_evidence"


def _significant(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def _levels_table(report: dict) -> dg.MetadataValue:
    """Every comparison level's m, u and match weight (log2 m/u), and where they came from."""
    return metadata_table(
        [
            ("comparison", "string"),
            ("level", "string"),
            ("m", "float"),
            ("u", "float"),
            ("match_weight", "float"),
            ("parameters", "string"),
        ],
        (
            (
                c["comparison"],
                lv["level"],
                _significant(lv["m"]),
                _significant(lv["u"]),
                lv["match_weight"],
                lv["source"],
            )
            for c in report["comparisons"]
            for lv in c["levels"]
        ),
    )


@dg.asset(
    name="identity_model",
    group_name="identity",
    description=(
        "The Splink matching model (on DuckDB, or on Spark with `CDP_ENGINE=spark`), built "
        "from the fields the identity nodes carry: comparisons, prior and EM training rules "
        "only for fields filled on enough nodes; u by random sampling, m by EM, seeded. Kept "
        f"in the warehouse (`{MODEL_VERSIONS}`) with the evidence profile it saw, and "
        "trained again when that profile changes materially (or with `retrain: true`)."
    ),
    deps=[identity_records],
    check_specs=[
        dg.AssetCheckSpec(
            "blocking_comparisons_below_cap",
            asset="identity_model",
            description="The prediction blocking rules generate at most `probabilistic.max_comparisons` pairs.",
        ),
        dg.AssetCheckSpec(
            MODEL_CHECK,
            asset="identity_model",
            description=(
                "Training ran on pairs and trained every comparison's agreement level; a "
                "degenerate model is not used for prediction."
            ),
        ),
    ],
    kinds={"splink", "duckdb"},
    tags={"layer": "identity"},
    **WAREHOUSE_ASSET,
)
def identity_model(
    context: dg.AssetExecutionContext,
    config: IdentityModelConfig,
    warehouse: WarehouseResource,
    platform_config: PlatformConfig,
    model_store: ModelStore,
) -> dg.MaterializeResult:
    runtime = model_store.runtime
    cap = platform_config.identity().probabilistic.max_comparisons
    with warehouse.get_connection() as conn:
        records = splink_model.read_input(conn)
        stored = model_store.current_model(conn)
        labelled = labelled_node_pairs(conn)
    profile = {**splink_model.evidence_profile(records), "labels": len(labelled)}
    fields = splink_model.present_fields(profile)
    with splink_logs_to(context.log):
        counts = splink_model.blocking_counts(records, runtime, fields) if records.num_rows else []
    total = counts[-1]["cumulative"] if counts else 0
    common = {
        "blocking_comparisons": metadata_table(
            [("rule", "string"), ("new_pairs", "int"), ("cumulative", "int")],
            ((c["rule"], c["marginal"], c["cumulative"]) for c in counts),
        ),
        "comparisons": total,
        "engine": runtime.engine,
        "evidence_profile": dg.MetadataValue.json(profile),
    }
    cap_check = dg.AssetCheckResult(
        check_name="blocking_comparisons_below_cap",
        passed=total <= cap,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"comparisons": total, "cap": cap},
    )
    changed = needs_retraining(stored.profile, profile) if stored else "no model yet"
    if stored is not None and not config.retrain and changed is None:
        context.log.info(f"identity_model: reusing model {stored.version}")
        return dg.MaterializeResult(
            metadata={"model_version": stored.version, "retrained": False, **common},
            check_results=[cap_check, _model_check(stored.report["problems"], stored.version)],
        )
    if records.num_rows < splink_model.MIN_TRAINING_RECORDS:
        context.log.warning(
            f"identity_model: {records.num_rows} matchable nodes, fewer than "
            f"{splink_model.MIN_TRAINING_RECORDS}; not trained, links stay deterministic"
        )
        return dg.MaterializeResult(
            metadata={"model_version": "none", "retrained": False, **common},
            check_results=[
                cap_check,
                _model_check([f"{records.num_rows} matchable nodes: too few to train"], "none"),
            ],
        )
    context.log.info(f"identity_model: training ({changed if not config.retrain else 'asked to'})")
    charts = model_store.charts
    with splink_logs_to(context.log):
        trained = splink_model.train(records, runtime, charts, labelled)
    healthy = not trained.problems
    with warehouse.get_connection() as conn:
        model_store.save_model(conn, trained, current=healthy)
    for problem in trained.problems:
        context.log.warning(f"identity_model: {problem}")
    return dg.MaterializeResult(
        metadata={
            "model_version": trained.version,
            "retrained": True,
            "retrained_because": "asked to" if config.retrain else changed,
            "used_for_prediction": healthy,
            "training_records": trained.records,
            "review_labels_learnt_from": len(labelled),
            "training_rules": ", ".join(trained.report["training_rules"]) or "none",
            "match_weights": _levels_table(trained.report),
            **_family_metadata(trained.report.get("family")),
            "match_weights_chart": dg.MetadataValue.path(str(charts / "match_weights.html")),
            "m_u_parameters_chart": dg.MetadataValue.path(str(charts / "m_u_parameters.html")),
            **common,
        },
        check_results=[cap_check, _model_check(trained.problems, trained.version)],
    )


def _family_metadata(family: dict | None) -> dict:
    """How much more often than chance people share a surname and a home here."""
    if not family:
        return {"family_dependence": "not estimated (no surname and home, or no other evidence)"}
    return {
        "family_dependence": dg.MetadataValue.float(round(family["dependence"], 2)),
        "family_pairs": dg.MetadataValue.int(family["pairs_sharing_surname_and_home"]),
        "family_pairs_two_people": dg.MetadataValue.int(round(family["two_people_among_them"])),
        # How often two members of one family share a birth date (twins).
        **{
            f"family_{name}_agreement": dg.MetadataValue.float(round(rate, 5))
            for name, rate in family.get("family_agreement", {}).items()
        },
    }


def _model_check(problems: list[str], version: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=MODEL_CHECK,
        asset_key="identity_model",
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "model_version": version,
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
        },
    )


def _counts_table(header: tuple[str, str], rows: dict[str, int]) -> dg.MetadataValue:
    return metadata_table([(header[0], "string"), (header[1], "int")], rows.items())


@dg.asset(
    name="identity_edges",
    group_name="identity",
    description=(
        f"The identity graph: every candidate link in `{EDGES_TABLE}` with its evidence and "
        "decision, and the records' clusters in `" + CLUSTERS_TABLE + "`. Records with equal "
        "identity fields are one node. Accounts and orders join nodes outright, under the "
        "configured limits (one web-shop account per person); emails, phones and Splink's "
        "candidates are weighed together: every pair of nodes near them is scored and people "
        "merge while their average match probability stays above the threshold calibrated "
        "from the model toward `probabilistic.target_precision`."
    ),
    deps=[identity_records, identity_model],
    kinds={"duckdb", "sql", "splink"},
    tags={"layer": "identity"},
    **WAREHOUSE_ASSET,
    metadata=IDENTITY_EDGES.asset_metadata,
)
def identity_edges(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    platform_config: PlatformConfig,
    model_store: ModelStore,
) -> dg.MaterializeResult:
    config = platform_config.identity()
    runtime = model_store.runtime
    with warehouse.get_connection() as conn:
        stored = model_store.current_model(conn) if config.probabilistic.enabled else None
        with splink_logs_to(context.log):
            summary = resolve_persons(conn, config, stored.model if stored else None, runtime)
        bands = probability_bands(conn)
    context.log.info(
        f"identity_edges: {summary.records} records in {summary.nodes} nodes; "
        f"{sum(summary.linked.values())} links, {sum(summary.refused.values())} refused, "
        f"{summary.clusters} clusters"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(summary.linked.values()) + sum(summary.refused.values()),
            "links": sum(summary.linked.values()),
            "refused": sum(summary.refused.values()),
            "clusters": summary.clusters,
            "identity_nodes": summary.nodes,
            "model_version": stored.version if stored else "none",
            "engine": runtime.engine,
            **{f"splink_{k}": v for k, v in summary.scoring.items()},
            "links_by_identifier": _counts_table(("identifier", "links"), summary.linked),
            "refusals_by_reason": _counts_table(("reason", "candidates"), summary.refused),
            "match_probabilities": metadata_table(
                [("match_probability", "string"), ("pairs", "int"), ("linked", "int")], bands
            ),
        }
    )


@dg.asset(
    name="person_id_map",
    group_name="identity",
    description=(
        f"`{MAP_TABLE}`: the person of every source record, from the clusters of the "
        "identity graph. Ids carry over between runs by record overlap (a merge keeps "
        "the oldest id, a split leaves it with the largest part); every create, merge and "
        f"split is logged in `{PERSON_ID_HISTORY}`."
    ),
    deps=[identity_records, identity_edges],
    kinds={"duckdb", "scipy"},
    tags={"layer": "identity"},
    **WAREHOUSE_ASSET,
    metadata=PERSON_ID_MAP.asset_metadata,
    check_specs=person_map_check_specs(),
)
def person_id_map(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    bounds = platform_config.identity().checks
    with warehouse.get_connection() as conn:
        previous_persons = previous_person_count(conn)
        result = assign_stable_ids(conn, run_id=context.run.run_id)
        checks = person_map_checks(conn, bounds, context.run.run_id, previous_persons)
        records, largest, singletons = conn.execute(
            f"""SELECT sum(n), max(n), count(*) FILTER (WHERE n = 1)
            FROM (SELECT count(*) AS n FROM {MAP_TABLE} GROUP BY person_id)"""
        ).fetchone()
        sizes = conn.execute(
            f"""SELECT CASE WHEN n >= 10 THEN '10+' ELSE n::VARCHAR END AS size, count(*)
            FROM (SELECT count(*) AS n FROM {MAP_TABLE} GROUP BY person_id)
            GROUP BY 1 ORDER BY min(n)"""
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(records or 0),
            "persons": result.persons,
            "largest_cluster": int(largest or 0),
            "singleton_share": round(singletons / result.persons, 4) if result.persons else 0.0,
            "ids_created": result.created,
            "ids_merged": result.merged,
            "ids_split": result.split,
            "ids_with_records_moved": result.moved,
            "cluster_sizes": metadata_table([("records", "int"), ("persons", "int")], sizes),
        },
        check_results=checks,
    )


@dg.asset(
    name="identity_review_queue",
    group_name="identity",
    description=(
        f"`{QUEUE_TABLE}`: the Splink pairs whose match probability falls in "
        "`probabilistic.review_band`, most uncertain first, with their evidence, decision "
        "and any label. Label them with `cdp identity review`: a `match` joins the two "
        "people and a `non-match` keeps them apart on every later run, and the labels give "
        "the model's labelled precision."
    ),
    deps=[identity_edges],
    kinds={"duckdb", "sql"},
    tags={"layer": "identity"},
    **WAREHOUSE_ASSET,
    metadata=REVIEW_QUEUE.asset_metadata,
)
def identity_review_queue(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    band = platform_config.identity().probabilistic.review_band
    with warehouse.get_connection() as conn:
        summary = build_queue(conn, band)
    precision = summary.labelled_precision
    context.log.info(f"identity_review_queue: {summary.pending} pairs to review")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.pending + summary.labelled,
            "pending_review": summary.pending,
            "labelled": summary.labelled,
            "review_band": f"{band[0]} to {band[1]}",
            "labelled_precision": round(precision, 4) if precision is not None else "no labels",
            "labelled_pairs_scored_likely": summary.labelled_likely,
        }
    )
