"""The whole code location loads, and its graph matches the snapshot.

A change to the asset graph (a renamed asset, a new job) should be a
deliberate edit of the snapshot below, never an accident.
"""

from __future__ import annotations

import dagster as dg
import yaml

from cdp_platform.definitions import build_definitions, defs
from cdp_platform.settings import CODE_LOCATION, DEFINITIONS_MODULE, PROJECT_ROOT

SNAPSHOT = {
    "assets": {
        "activation": [
            "activation/newsletter_first_order_offer",
            "activation/retention_ads_audience",
            "activation/win_back_emails",
        ],
        "sources": [
            "crm_companies",
            "crm_contacts",
            "email_subscribers",
            "pos_loyalty",
            "pos_transactions",
            "privacy_requests",
            "shop_orders",
            "support_tickets",
            "web_events",
        ],
        "identity": ["identity_edges", "identity_model", "identity_review_queue", "person_id_map"],
        "insight": ["campaign_lift"],
        "privacy": ["erased_subjects", "privacy_subjects"],
        "profiles": [
            "account_traits",
            "accounts",
            "consent_state",
            "customer_scores",
            "customer_timeline",
            "customer_traits",
            "golden_profiles",
            "lead_scores",
        ],
        "segments": [
            "segments/b2b_opportunity_engaged",
            "segments/browse_abandoners_7d",
            "segments/cart_abandoners_24h",
            "segments/high_value_at_risk",
            "segments/in_store_only_loyalty",
            "segments/lapsed_customers",
            "segments/newsletter_never_bought",
        ],
        "staging": ["identity_records"],
    },
    "jobs": [
        "__ASSET_JOB",
        "daily_refresh",
        "ingest_sources",
        "refresh_downstream",
        "retrain_identity_model",
    ],
    "sensors": [
        "dead_run_sensor",
        "default_automation_condition_sensor",
        "landing_file_sensor",
        "run_failure_alert_sensor",
    ],
    "schedules": ["weekly_identity_model_retrain"],
}


def graph_snapshot(definitions: dg.Definitions) -> dict:
    repo = definitions.get_repository_def()
    groups: dict[str, list[str]] = {}
    for assets_def in repo.assets_defs_by_key.values():
        for key in assets_def.keys:
            groups.setdefault(assets_def.group_names_by_key[key], []).append(key.to_user_string())
    return {
        "assets": {g: sorted(keys) for g, keys in sorted(groups.items())},
        "jobs": sorted(j.name for j in repo.get_all_jobs()),
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "schedules": sorted(s.name for s in repo.schedule_defs),
    }


def test_code_location_loads_and_matches_snapshot():
    dg.Definitions.validate_loadable(defs)
    assert graph_snapshot(build_definitions()) == SNAPSHOT


def test_every_asset_is_documented_owned_and_kinded():
    repo = build_definitions().get_repository_def()
    for key, assets_def in repo.assets_defs_by_key.items():
        spec = next(s for s in assets_def.specs if s.key == key)
        assert spec.description, key
        assert spec.owners, key
        assert spec.kinds, key
        if "dagster/table_name" in spec.metadata:  # a table: its columns are documented
            assert "dagster/column_schema" in spec.metadata, key


def test_source_assets_share_one_daily_partitioning_single_run_backfills_and_the_pool():
    repo = build_definitions().get_repository_def()
    partitions = set()
    for key, assets_def in repo.assets_defs_by_key.items():
        if assets_def.group_names_by_key[key] != "sources":
            continue
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), key
        assert assets_def.node_def.pools == {"warehouse"}, key
        partitions.add(assets_def.partitions_def)
    (daily,) = partitions
    assert isinstance(daily, dg.DailyPartitionsDefinition)
    assert daily.get_first_partition_key() == "2025-01-01"


def test_workspace_yaml_loads_the_code_location_cdp_run_names_its_runs_after():
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    [entry] = workspace["load_from"]
    assert entry["python_module"] == {
        "module_name": DEFINITIONS_MODULE,
        "attribute": "defs",
        "location_name": CODE_LOCATION,
    }


def test_dg_checks_and_lists_the_same_code_location():
    """`dg check defs` passes and `dg list defs` sees what workspace.yaml loads:
    `pyproject.toml` points dg at the same module and location name."""
    import json
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dg"]
    assert project["project"]["code_location_target_module"] == DEFINITIONS_MODULE
    assert project["project"]["code_location_name"] == CODE_LOCATION
    dg_command = str(Path(sys.executable).parent / "dg")
    check = subprocess.run(
        [dg_command, "check", "defs"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All definitions loaded successfully" in check.stdout + check.stderr
    listed = subprocess.run(
        [dg_command, "list", "defs", "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    keys = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert keys == {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def test_no_source_is_a_dead_end():
    """Every source feeds the graph; the two that only profiles read are drawn
    into the assets that read them."""
    graph = build_definitions().resolve_asset_graph()
    children = {
        key.to_user_string(): {child.to_user_string() for child in graph.get(key).child_keys}
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == "sources"
    }
    assert set(children) == set(SNAPSHOT["assets"]["sources"])
    assert all(children.values()), children
    assert "accounts" in children["crm_companies"]
    assert {"customer_traits", "customer_timeline"} <= children["pos_transactions"]
