"""A destination whose credential is not set fails its own syncs and nothing else.

The destination resources hold the names of environment variables, read when a
sync builds its client; one unset variable must not fail the whole downstream
job's config check (which would stop identity, profiles, segments and every
other sync), and the failure must name the variable and the destination.
"""

from __future__ import annotations

import textwrap
from datetime import date

import dagster as dg
import pytest

from cdp_platform.activation.assets import build_sync_asset
from cdp_platform.activation.config import load_syncs
from cdp_platform.activation.destinations.files import read_export
from cdp_platform.activation.resources import destination_resources
from cdp_platform.automation.jobs import refresh_downstream_job
from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline
from cdp_platform.resources.warehouse import WarehouseResource, connect
from cdp_platform_tests.fakes.destinations import HUBSPOT_TOKEN, HubSpotContactsServer
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.profile_tables import seed_profiles

UNSET = "CDP_TEST_HUBSPOT_TOKEN_NEVER_SET"
MESSAGE = f"destination 'crm' needs environment variable {UNSET}, which is not set"
CRM_SYNC = dg.AssetKey(["activation", "to_crm"])
FILES_SYNC = dg.AssetKey(["activation", "to_drop"])


def syncs_yaml(crm_url: str, folder) -> str:
    return textwrap.dedent(
        f"""
        destinations:
          crm: {{type: hubspot, url: "{crm_url}", token_env: {UNSET}, purpose: email_marketing}}
          drop: {{type: files, folder: "{folder}", format: csv, purpose: email_marketing}}
        syncs:
          - name: to_crm
            description: everyone with consent, to the CRM
            destination: crm
            source: {{where: "true"}}
            identifier: email
            mapping: {{firstname: first_name}}
          - name: to_drop
            description: everyone with consent, to a file drop
            destination: drop
            source: {{where: "true"}}
            identifier: email
            mapping: {{email: email, name: first_name}}
        """
    )


def test_an_unset_token_fails_only_its_own_sync(landing, query, tmp_path, monkeypatch):
    generate(landing.parent, persons=120, days=5, start=date(2026, 8, 1), seed=5)
    folder = tmp_path / "exports"
    config = tmp_path / "syncs.yaml"
    monkeypatch.delenv(UNSET, raising=False)
    # A real instance, so the run's materializations can be read back afterwards.
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with HubSpotContactsServer() as crm:
        config.write_text(syncs_yaml(crm.url, folder))
        monkeypatch.setenv("CDP_SYNCS_CONFIG", str(config))
        defs = build_definitions()  # loads: the variable is not read yet
        outcome = run_pipeline(defs, landing)
        assert crm.requests == []  # nothing went to the CRM

    ingest, downstream = outcome.runs
    assert ingest.success
    assert not downstream.success
    # The one failure is the CRM sync's, and it names the variable and the destination.
    assert downstream.failures == [f"activation__to_crm: {MESSAGE}"]

    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(downstream.run_id)
        assert run.job_name == refresh_downstream_job.name
        records = instance.get_records_for_run(downstream.run_id).records
        events = [
            r.event_log_entry.dagster_event for r in records if r.event_log_entry.is_dagster_event
        ]
        materialized = {e.asset_key for e in events if e.is_step_materialization}
        observed = [
            e.event_specific_data.asset_observation
            for e in events
            if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
        ]
    # Every other asset of the job materialized: identity, privacy, profiles,
    # segments and the file sync.
    expected = defs.resolve_job_def(refresh_downstream_job.name).asset_layer.executable_asset_keys
    assert materialized == set(expected) - {CRM_SYNC}
    groups = {key.path[0] for key in materialized if len(key.path) > 1}
    assert {"activation"} <= groups
    for name in ("person_id_map", "golden_profiles", "consent_state"):
        assert dg.AssetKey(name) in materialized
    assert FILES_SYNC in materialized
    assert any(key.path[0] == "segments" for key in materialized)
    # The CRM sync's page says why, by name (and never a value).
    (observation,) = [o for o in observed if o.asset_key == CRM_SYNC]
    assert observation.metadata["missing_environment_variable"].value == UNSET
    assert observation.metadata["destination"].value == "crm"

    # The file sync really ran: its export and its log are there.
    assert len(read_export(folder, "upsert")) > 0
    assert query("SELECT count(*) FROM activation.sync_log WHERE sync = 'to_drop'")[0][0] > 0
    assert query("SELECT count(*) FROM activation.sync_log WHERE sync = 'to_crm'")[0][0] == 0


def test_the_token_is_read_when_the_sync_runs_and_never_shown(tmp_path, monkeypatch):
    """Set later, the variable is used by the next run; its value is not in the
    resource's config (which the UI shows), only its name."""

    monkeypatch.delenv(UNSET, raising=False)
    with HubSpotContactsServer() as crm:
        config = tmp_path / "syncs.yaml"
        config.write_text(syncs_yaml(crm.url, tmp_path / "exports"))
        resources = destination_resources(load_syncs(config))
        resource = resources["destination_crm"]
        with pytest.raises(dg.Failure, match=MESSAGE):
            resource.build()
        monkeypatch.setenv(UNSET, HUBSPOT_TOKEN)
        client = resource.build()
        assert client.base_url == crm.url
    shown = repr({k: r.__dict__ for k, r in resources.items()})
    assert UNSET in shown and HUBSPOT_TOKEN not in shown


def test_a_dry_run_plans_without_the_credential(tmp_path, monkeypatch):
    """A dry run sends nothing, so it plans and counts; the missing variable is
    still named on the asset, and a real run of the same sync then fails."""

    monkeypatch.delenv(UNSET, raising=False)
    database = tmp_path / "warehouse.duckdb"
    with connect(database) as conn:
        seed_profiles(conn, 4, country="'GB'", orders="1")
        conn.execute(
            """INSERT INTO profiles.consent_state BY NAME SELECT person_id,
               'email_marketing' AS purpose, 'granted' AS status FROM profiles.golden_profiles"""
        )
    config = tmp_path / "syncs.yaml"
    config.write_text(syncs_yaml("http://127.0.0.1:9", tmp_path / "exports"))
    parsed = load_syncs(config)
    asset = build_sync_asset(parsed.syncs[0], parsed)
    resources = {"warehouse": WarehouseResource(database=str(database))}
    resources.update(destination_resources(parsed))

    def run(dry_run: bool):
        return dg.materialize(
            [asset],
            resources=resources,
            run_config={"ops": {"activation__to_crm": {"config": {"dry_run": dry_run}}}},
            raise_on_error=False,
        )

    dry = run(True)
    assert dry.success
    (planned,) = dry.asset_materializations_for_node("activation__to_crm")
    assert metadata_rows(planned.metadata["planned"]) == [{"operation": "upsert", "records": 4}]
    (observed,) = dry.asset_observations_for_node("activation__to_crm")
    assert observed.metadata["missing_environment_variable"].value == UNSET

    real = run(False)
    assert not real.success
    (failure,) = [e for e in real.all_events if e.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description == MESSAGE
    assert failure.step_failure_data.user_failure_data.metadata["destination"].value == "crm"
