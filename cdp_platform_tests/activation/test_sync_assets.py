"""Syncs declared in YAML, materialized through Dagster against a local webhook receiver."""

from __future__ import annotations

import textwrap

import dagster as dg
import pytest

from cdp_platform.activation.assets import build_sync_asset
from cdp_platform.activation.config import SyncSpecError, load_syncs
from cdp_platform.activation.resources import destination_resources
from cdp_platform.resources.warehouse import WarehouseResource, connect
from cdp_platform_tests.fakes.destinations import SECRET, WebhookServer
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.profile_tables import seed_profiles

PERSONS = 12


def syncs_yaml(url: str, purpose_line: str = "purpose: email_marketing") -> str:
    return textwrap.dedent(
        f"""
        destinations:
          hooks:
            type: webhook
            url: {url}
            secret_env: TEST_WEBHOOK_SECRET
            {purpose_line}
        syncs:
          - name: gb_customers
            description: customers in Great Britain
            destination: hooks
            source: {{where: "country = 'GB'"}}
            identifier: email
            mapping: {{email: email, name: first_name, orders: orders}}
            mode: mirror
        """
    )


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as conn:
        seed_profiles(conn, PERSONS, country="CASE WHEN i < 10 THEN 'GB' ELSE 'FR' END", orders="1")
        # Consent: granted for even persons, denied for p1, unknown (no row) for the rest.
        conn.execute(
            """INSERT INTO profiles.consent_state BY NAME
               SELECT person_id, 'email_marketing' AS purpose,
                      CASE WHEN person_id = 'p1' THEN 'denied' ELSE 'granted' END AS status
               FROM profiles.golden_profiles
               WHERE person_id = 'p1' OR CAST(substr(person_id, 2) AS INTEGER) % 2 = 0"""
        )
    return WarehouseResource(database=str(path))


def materialize(tmp_path, monkeypatch, server, warehouse, dry_run=False):
    path = tmp_path / "syncs.yaml"
    path.write_text(syncs_yaml(server.url))
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    parsed = load_syncs(path)
    asset = build_sync_asset(parsed.syncs[0], parsed)
    return dg.materialize(
        [asset],
        resources={"warehouse": warehouse, **destination_resources(parsed)},
        run_config={"ops": {"activation__gb_customers": {"config": {"dry_run": dry_run}}}},
    )


def test_a_declared_sync_sends_only_consented_people_and_then_only_changes(
    tmp_path, monkeypatch, warehouse
):
    with WebhookServer() as server:
        dry = materialize(tmp_path, monkeypatch, server, warehouse, dry_run=True)
        assert server.requests == []
        (planned,) = dry.asset_materializations_for_node("activation__gb_customers")
        assert {"operation": "upsert", "records": 5} in metadata_rows(planned.metadata["planned"])

        first = materialize(tmp_path, monkeypatch, server, warehouse)
        consented_gb = {f"n{i}@example.org" for i in range(0, 10, 2)}
        assert set(server.holds) == consented_gb
        assert server.holds["n4@example.org"] == {
            "email": "n4@example.org",
            "name": "Name4",
            "orders": 1,
        }
        (event,) = first.asset_materializations_for_node("activation__gb_customers")
        assert event.metadata["records_sent"].value == 5
        assert {"operation": "skip", "status": "skipped_consent", "records": 5} in metadata_rows(
            event.metadata["results"]
        )

        with connect(warehouse.database) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM activation.sync_log GROUP BY 1"
                ).fetchall()
            )
            assert statuses == {"succeeded": 5, "skipped_consent": 5}
            # p2 withdraws consent; p4's orders change.
            conn.execute(
                "UPDATE profiles.consent_state SET status = 'denied' WHERE person_id = 'p2'"
            )
            conn.execute("UPDATE profiles.customer_traits SET orders = 2 WHERE person_id = 'p4'")
        second = materialize(tmp_path, monkeypatch, server, warehouse)
        (event,) = second.asset_materializations_for_node("activation__gb_customers")
        assert event.metadata["records_sent"].value == 2  # one update, one removal
        assert "n2@example.org" not in server.holds
        assert server.holds["n4@example.org"]["orders"] == 2


def test_a_sync_without_a_consent_purpose_is_refused_at_load(tmp_path):
    path = tmp_path / "syncs.yaml"
    path.write_text(syncs_yaml("http://127.0.0.1:9", purpose_line=""))
    with pytest.raises(SyncSpecError) as raised:
        load_syncs(path)
    assert str(raised.value).startswith(
        f"{path}: sync 'gb_customers': purpose: destination 'hooks'"
    )


def test_the_secret_never_reaches_the_definitions_or_run_metadata(tmp_path, monkeypatch, warehouse):
    with WebhookServer() as server:
        result = materialize(tmp_path, monkeypatch, server, warehouse)
    text = repr([e.event_specific_data for e in result.all_events])
    assert SECRET not in text and SECRET[6:] not in text


def test_a_sync_schedule_must_be_eager_or_cron(tmp_path):
    path = tmp_path / "syncs.yaml"
    path.write_text(syncs_yaml("http://127.0.0.1:9") + "    automation: every tuesday\n")
    with pytest.raises(SyncSpecError, match="sync 'gb_customers': automation: neither 'eager'"):
        load_syncs(path)
    path.write_text(syncs_yaml("http://127.0.0.1:9") + "    automation: '0 6 * * *'\n")
    parsed = load_syncs(path)
    asset = build_sync_asset(parsed.syncs[0], parsed)
    assert "0 6 * * *" in str(asset.automation_conditions_by_key[asset.key])
