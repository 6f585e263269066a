"""Automation on a real Dagster instance: the conditions that refresh every layer
below the sources (daily after the loads; segments and syncs as their inputs
change), and the run-failure alert sensor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pytest
import yaml

from cdp_platform.automation.alerts import read_alerts
from cdp_platform.automation.jobs import DAILY_REFRESH_GROUPS
from cdp_platform.automation.sensors import run_failure_alert_sensor
from cdp_platform.definitions import build_definitions
from cdp_platform.segments.assets import PROFILE_DEPS
from cdp_platform.yaml_files import CONFIG_DIR
from cdp_platform_tests.fakes.destinations import SECRET, AlertReceiver


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def materialized(instance, defs, name: str, checks_pass: bool = True, partition=None) -> None:
    """Record a materialization of `name`, and a result for each of its checks."""
    key = dg.AssetKey.from_user_string(name)
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    for check in defs.resolve_asset_graph().asset_check_keys:
        if check.asset_key == key:
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=check.name,
                    passed=checks_pass,
                    severity=dg.AssetCheckSeverity.ERROR,
                )
            )


def at(day: int, hour: int) -> datetime:
    """An evaluation time in January 2027 (the daily refresh ticks at 05:00 UTC)."""
    return datetime(2027, 1, day, hour, tzinfo=UTC)


def test_the_daily_refresh_runs_once_after_new_loads_and_never_during_them(instance):
    """Identity, privacy and profiles refresh by their automation condition: once
    a day after the 05:00 tick, when a source was loaded since their last
    refresh and no load is still queued or running."""
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    refreshed = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name in DAILY_REFRESH_GROUPS
    }
    assert {"identity_records", "person_id_map", "erased_subjects", "golden_profiles"} <= refreshed

    keys, cursor = requested(defs, instance, None, at(1, 4))
    keys, cursor = requested(defs, instance, cursor, at(1, 6))
    assert not keys & refreshed  # the tick passed, but nothing was loaded

    materialized(instance, defs, "web_events", partition="2025-03-01")
    keys, cursor = requested(defs, instance, cursor, at(1, 7))
    assert refreshed <= keys  # the day's load is in: every layer, in one evaluation
    keys, cursor = requested(defs, instance, cursor, at(1, 8))
    assert not keys & refreshed  # handled: not again the same day

    # A load after the refresh waits for the next day's tick; a load still queued
    # then holds the refresh back, so it never reads half a day.
    materialized(instance, defs, "shop_orders", partition="2025-03-02")
    keys, cursor = requested(defs, instance, cursor, at(1, 12))
    assert not keys & refreshed
    run = instance.create_run_for_job(
        defs.resolve_implicit_global_asset_job_def(),
        asset_selection=frozenset({dg.AssetKey("web_events")}),
        status=dg.DagsterRunStatus.NOT_STARTED,
        tags={"dagster/partition": "2025-03-02"},
    )
    keys, cursor = requested(defs, instance, cursor, at(2, 6))
    assert "identity_records" not in keys
    instance.report_run_canceled(run)
    keys, cursor = requested(defs, instance, cursor, at(2, 7))
    assert refreshed <= keys  # the loads are done: the held-back refresh goes ahead

    keys, cursor = requested(defs, instance, cursor, at(3, 6))
    assert not keys & refreshed  # a day with nothing new costs nothing


def test_the_daily_refresh_rebuilds_only_what_reads_the_new_loads(instance):
    """Till transactions feed the profiles' activity and erasure, not identity."""
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    for key in graph.toposorted_asset_keys:
        partition = "2025-03-01" if graph.get(key).is_partitioned else None
        materialized(instance, defs, key.to_user_string(), partition=partition)
    keys, cursor = requested(defs, instance, None, at(1, 4))
    materialized(instance, defs, "pos_transactions", partition="2025-03-02")
    keys, cursor = requested(defs, instance, cursor, at(1, 6))
    assert {"customer_traits", "customer_timeline", "erased_subjects"} <= keys
    assert not keys & {"identity_records", "identity_edges", "person_id_map"}


def blocking_segments_config(tmp_path, blocked: str) -> str:
    """The shipped segments, with `blocked`'s size check made blocking."""
    spec = yaml.safe_load((CONFIG_DIR / "segments.yaml").read_text())
    for segment in spec["segments"]:
        if segment["name"] == blocked:
            segment["size_check"] = {"max_change": 0.5, "action": "block"}
    path = tmp_path / "segments.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def requested(defs, instance, cursor=None, when: datetime | None = None) -> tuple[set[str], object]:
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=cursor, evaluation_time=when
    )
    keys = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    return keys, result.cursor


def test_segments_and_syncs_follow_profiles_but_not_past_a_failed_blocking_check(
    tmp_path, monkeypatch, instance
):
    monkeypatch.setenv(
        "CDP_SEGMENTS_CONFIG", blocking_segments_config(tmp_path, "high_value_at_risk")
    )
    defs = build_definitions()
    every_key = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    downstream = {k for k in every_key if k.startswith(("segments/", "activation/"))}
    keys, cursor = requested(defs, instance)
    assert keys == set()  # nothing to act on before profiles exist

    for name in PROFILE_DEPS:
        materialized(instance, defs, name)
    keys, cursor = requested(defs, instance, cursor)
    assert keys == downstream  # every segment and sync, in one evaluation

    keys, cursor = requested(defs, instance, cursor)
    assert keys == set()  # handled: nothing new, nothing requested again

    # The segment's size swung past its blocking check: the sync fed by it holds,
    # the others (whose segments passed) go ahead.
    materialized(instance, defs, "segments/high_value_at_risk", checks_pass=False)
    materialized(instance, defs, "segments/lapsed_customers")
    keys, cursor = requested(defs, instance, cursor)
    assert "activation/win_back_emails" in keys
    assert "activation/retention_ads_audience" not in keys

    materialized(instance, defs, "segments/high_value_at_risk", checks_pass=True)
    keys, _ = requested(defs, instance, cursor)
    assert "activation/retention_ads_audience" in keys


@dg.asset
def failing_load() -> None:
    # An error quoting a value, as a parser's error may: the alert must not carry it.
    raise ValueError("row 7 of crm_contacts/2025-03-01.csv: bad date for jane.doe@example.com")


def failed_run_context(instance) -> dg.RunFailureSensorContext:
    result = dg.materialize([failing_load], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    (failure,) = instance.get_records_for_run(
        result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure.event_log_entry.dagster_event,
    ).for_run_failure()


def test_a_failed_run_is_recorded_and_posted_signed_without_personal_data(
    tmp_path, monkeypatch, instance
):
    alerts_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("CDP_ALERTS_FILE", str(alerts_file))
    monkeypatch.setenv("CDP_ALERT_WEBHOOK_SECRET", SECRET)
    with AlertReceiver(faults={1: "503"}) as receiver:  # the first try fails, the retry lands
        monkeypatch.setenv("CDP_ALERT_WEBHOOK_URL", f"{receiver.url}/hooks/T000/B000/secret")
        context = failed_run_context(instance)
        run_failure_alert_sensor(context)

    (posted,) = receiver.alerts
    assert len(receiver.requests) == 2
    assert posted["run_id"] == context.dagster_run.run_id
    assert posted["failed_steps"] == ["failing_load"]
    assert "row 7 of crm_contacts/2025-03-01.csv" in posted["error"]
    assert "jane.doe@example.com" not in json.dumps(posted)
    assert posted["text"].startswith(
        f"Run {context.dagster_run.run_id[:8]} of an asset run failed at failing_load: "
        "ValueError: row 7 of crm_contacts/2025-03-01.csv: bad date for j***@e***.com"
    )
    assert posted["url"].endswith(f"/runs/{context.dagster_run.run_id}")

    (recorded,) = read_alerts(alerts_file)
    assert recorded["delivery"] == "posted"
    assert recorded["run_id"] == posted["run_id"]
    # The webhook address carries a token: it is in no alert and no sensor log.
    assert "secret" not in alerts_file.read_text().replace('"delivery"', "")


def test_an_unreachable_webhook_still_records_the_alert(tmp_path, monkeypatch, instance):
    alerts_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("CDP_ALERTS_FILE", str(alerts_file))
    monkeypatch.setenv("CDP_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    run_failure_alert_sensor(failed_run_context(instance))
    (recorded,) = read_alerts(alerts_file)
    assert recorded["delivery"] == "failed: ConnectionError"
    assert recorded["failed_steps"] == ["failing_load"]


def test_without_a_webhook_alerts_are_recorded_only(tmp_path, monkeypatch, instance):
    alerts_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("CDP_ALERTS_FILE", str(alerts_file))
    monkeypatch.delenv("CDP_ALERT_WEBHOOK_URL", raising=False)
    run_failure_alert_sensor(failed_run_context(instance))
    assert [a["delivery"] for a in read_alerts(alerts_file)] == ["no webhook"]


def test_everything_a_team_expects_is_on_by_default():
    repo = build_definitions().get_repository_def()
    assert {s.name: s.default_status for s in repo.sensor_defs} == {
        name: dg.DefaultSensorStatus.RUNNING
        for name in (
            "dead_run_sensor",
            "default_automation_condition_sensor",
            "landing_file_sensor",
            "run_failure_alert_sensor",
        )
    }
    assert {s.name: s.default_status for s in repo.schedule_defs} == {
        name: dg.DefaultScheduleStatus.RUNNING for name in ("weekly_identity_model_retrain",)
    }
    for key, assets_def in repo.assets_defs_by_key.items():
        group = assets_def.group_names_by_key[key]
        spec = next(s for s in assets_def.specs if s.key == key)
        if group in ("profiles", "segments", "activation"):
            assert spec.freshness_policy is not None, key
        # Every layer below the sources keeps itself current by its condition.
        assert (spec.automation_condition is not None) == (group != "sources"), key
