"""The Splink model asset: trained, saved with a version, reused, and used for edges."""

from __future__ import annotations

import json
import shutil
from datetime import date

import dagster as dg
import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.identity import splink_model
from cdp_platform.pipeline import run_pipeline


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("model-demo")
    generate(out, persons=500, days=20, start=date(2026, 8, 1), seed=9)
    return out / "landing"


def test_model_is_trained_saved_reused_and_used_for_edges(
    demo_landing, tmp_path, monkeypatch, query
):
    landing = tmp_path / "generated"
    shutil.copytree(demo_landing, landing)
    monkeypatch.setenv("CDP_LANDING_DIR", str(landing))
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))

    assert run_pipeline(build_definitions(), landing).success
    version, model = splink_model.load_latest(warehouse)
    saved = splink_model.model_dir(warehouse) / f"model_{version}.json"
    assert json.loads(saved.read_text())["link_type"] == "dedupe_only"
    assert (splink_model.model_dir(warehouse) / "charts" / "match_weights.html").exists()
    kinds = dict(query("SELECT edge_kind, count(*) FROM identity.identity_edges GROUP BY 1"))
    assert kinds.get("probabilistic", 0) > 0 and kinds.get("deterministic", 0) > 0
    evidence = query(
        "SELECT evidence FROM identity.identity_edges WHERE edge_kind = 'probabilistic' LIMIT 1"
    )
    assert evidence[0][0].startswith("splink match probability ")
    # The comparisons behind the probability are named, field by field.
    assert query(
        "SELECT count(*) FROM identity.identity_edges WHERE edge_kind = 'probabilistic' "
        "AND evidence LIKE '%first_name: %' AND evidence LIKE '%address: postcode%'"
    )[0][0]
    decisions = dict(
        query(
            "SELECT decision, count(*) FILTER (WHERE (refusal IS NULL) = (decision = 'linked')) "
            "= count(*) FROM identity.identity_edges GROUP BY 1"
        )
    )
    assert decisions == {"linked": True, "refused": True}  # refusals always give a reason

    # A second run reuses the saved model rather than training again.
    assert run_pipeline(build_definitions(), landing).success
    assert splink_model.load_latest(warehouse)[0] == version
    assert len(list(splink_model.model_dir(warehouse).glob("model_*.json"))) == 1

    # The weekly schedule's job trains again and re-links with the new model.
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("weekly_identity_model_retrain")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests or [None]
    result = defs.resolve_job_def(schedule.job_name).execute_in_process(
        run_config=request.run_config if request and request.run_config else None
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("identity_model")
    assert materialization.metadata["retrained"].value is True
    assert materialization.metadata["comparisons"].value > 0
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "blocking_comparisons_below_cap"
    ]
    assert check.passed
    assert result.asset_materializations_for_node("person_id_map")


def test_too_few_records_leave_links_deterministic(landing, instance, query):
    from cdp_platform_tests.sources.samples import record, write_day_file

    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    defs = build_definitions()
    assert (
        defs.resolve_job_def("ingest_sources")
        .execute_in_process(instance=instance, partition_key="2026-08-01")
        .success
    )
    result = defs.resolve_job_def("refresh_downstream").execute_in_process(instance=instance)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("identity_model")
    assert materialization.metadata["model_version"].value == "none"
