"""Segment assets through Dagster: metadata, the size-swing check, and the factory's graph."""

from __future__ import annotations

import dagster as dg
import pytest

from cdp_platform.resources.configuration import default_platform_config
from cdp_platform.resources.warehouse import WarehouseResource, connect
from cdp_platform.segments.assets import SIZE_CHECK, build_segment_asset, segment_key
from cdp_platform.segments.spec import Condition, SegmentSpec, SizeCheck
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.profile_tables import seed_profiles


def _spec(action: str) -> SegmentSpec:
    return SegmentSpec(
        name="buyers",
        description="bought at least once",
        owners=["team:crm"],
        where=Condition(trait="orders", op=">=", value=1),
        size_check=SizeCheck(max_change=0.5, action=action, min_previous_size=0),
    )


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as conn:
        seed_profiles(conn, 10, orders="CASE WHEN i BETWEEN 1 AND 4 THEN 1 ELSE 0 END")
    return WarehouseResource(database=str(path))


def materialize(asset, warehouse, instance) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [asset],
        resources={"warehouse": warehouse, "platform_config": default_platform_config()},
        instance=instance,
        run_config={"ops": {"segments__buyers": {"config": {"as_of": "2026-09-30"}}}},
        raise_on_error=False,
    )


@pytest.mark.parametrize("action", ["warn", "block"])
def test_a_size_swing_warns_or_blocks(warehouse, instance, action):
    asset = build_segment_asset(_spec(action))
    assert asset.check_specs_by_output_name
    (check_spec,) = asset.check_specs
    assert check_spec.blocking is (action == "block")

    first = materialize(asset, warehouse, instance)
    assert first.success
    (materialization,) = first.asset_materializations_for_node("segments__buyers")
    metadata = materialization.metadata
    assert (metadata["size"].value, metadata["entered"].value, metadata["exited"].value) == (
        4,
        4,
        0,
    )
    sample = metadata_rows(metadata["sample"])
    assert len(sample) == 4 and all(row["email"] for row in sample)
    assert not any("@example.org" in row["email"] for row in sample)  # emails masked
    (evaluation,) = first.get_asset_check_evaluations()
    assert evaluation.passed  # nothing to compare with yet

    with connect(warehouse.database) as conn:  # twice the buyers: a 100% swing
        conn.execute("UPDATE profiles.customer_traits SET orders = 1 WHERE person_id < 'p8'")
    second = materialize(asset, warehouse, instance)
    (evaluation,) = second.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed) == (SIZE_CHECK, False)
    assert evaluation.severity == (
        dg.AssetCheckSeverity.ERROR if action == "block" else dg.AssetCheckSeverity.WARN
    )
    assert evaluation.metadata["change"].value == 1.0
    (materialization,) = second.asset_materializations_for_node("segments__buyers")
    assert (
        materialization.metadata["entered"].value,
        materialization.metadata["exited"].value,
    ) == (
        4,
        0,
    )


def test_segments_built_on_segments_depend_on_their_assets():
    from cdp_platform.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    lapsed = graph.get(segment_key("lapsed_customers"))
    assert segment_key("high_value_at_risk") in lapsed.parent_keys
    assert dg.AssetKey("customer_traits") in lapsed.parent_keys
    assert lapsed.group_name == "segments" and lapsed.owners == ["team:crm"]
