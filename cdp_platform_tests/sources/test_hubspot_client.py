"""The HubSpot-shaped API connector, over real HTTP to a local server."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.source_contracts import CRM_CONTACTS, SOURCES
from cdp_platform.sources.hubspot_client import HubSpotApiError, HubSpotContactsClient
from cdp_platform_tests.fakes.hubspot import TOKEN, HubSpotServer, contact


@pytest.fixture
def server():
    fake = HubSpotServer().start()
    yield fake
    fake.stop()


def client(server: HubSpotServer, **kw) -> HubSpotContactsClient:
    options = {"page_size": 100, "max_retries": 3, "backoff_factor": 0.05, **kw}
    return HubSpotContactsClient(server.url, TOKEN, **options)


def at(day: int, hour: int = 12) -> str:
    return f"2026-08-{day:02d}T{hour:02d}:00:00.000Z"


def test_pages_through_every_contact_exactly_once(server):
    server.contacts = [contact(n, at(1 + n % 5)) for n in range(1, 251)]
    pull = client(server).fetch_contacts()
    assert sorted(int(r["Record ID"]) for r in pull.rows) == list(range(1, 251))
    assert pull.pages == 3 and pull.requests == 3 and pull.retries == 0
    assert [r.args.get("after") for r in server.log] == [None, "100", "200"]
    assert all(r.args["limit"] == "100" for r in server.log)


def test_window_keeps_contacts_modified_inside_it_and_cursor_is_the_latest(server):
    server.contacts = [
        contact(1, at(1)),
        contact(2, at(3)),
        contact(3, at(4, 23)),
        contact(4, at(9)),
    ]
    pull = client(server).fetch_contacts(
        modified_after=datetime(2026, 8, 2, tzinfo=UTC),
        modified_before=datetime(2026, 8, 5, tzinfo=UTC),
    )
    assert [r["Record ID"] for r in pull.rows] == ["2", "3"]
    assert pull.cursor == datetime(2026, 8, 9, 12, tzinfo=UTC)
    assert pull.skipped_outside_window == 2


def test_rows_map_properties_onto_the_landing_columns(server):
    server.contacts = [
        contact(7, at(2), zip="SW1A 1AA", hs_email_optout="true", lifecyclestage="customer"),
        contact(8, at(2), hs_email_optout=None),
    ]
    rows = client(server).fetch_contacts().rows
    assert list(rows[0]) == CRM_CONTACTS.headers
    assert rows[0]["Record ID"] == "7"
    assert rows[0]["Postal Code"] == "SW1A 1AA"
    assert rows[0]["Email Subscription Status"] == "unsubscribed"
    assert rows[0]["Lifecycle Stage"] == "customer"
    assert rows[0]["Last Modified Date"] == at(2)
    assert rows[1]["Email Subscription Status"] is None


def test_rate_limit_is_retried_after_the_retry_after_delay(server):
    server.contacts = [contact(n, at(1)) for n in range(1, 151)]
    server.rate_limited = {2}
    pull = client(server).fetch_contacts()
    assert len(pull.rows) == 150
    assert [r.status for r in server.log] == [200, 429, 200]
    assert server.log[2].at - server.log[1].at >= 1.0  # Retry-After: 1 was honoured
    assert pull.retries == 1 and pull.requests == 3


def test_server_errors_are_retried_with_backoff(server):
    server.contacts = [contact(1, at(1))]
    server.failing = {1: 503, 2: 502}
    pull = client(server).fetch_contacts()
    assert [r["Record ID"] for r in pull.rows] == ["1"]
    assert [r.status for r in server.log] == [503, 502, 200]
    assert pull.retries == 2


def test_exhausted_retries_raise_naming_path_and_status_without_the_token(server):
    server.failing = {n: 503 for n in range(1, 10)}
    with pytest.raises(HubSpotApiError) as error:
        client(server, max_retries=2).fetch_contacts()
    message = str(error.value)
    assert "GET /crm/v3/objects/contacts" in message and "503" in message
    assert TOKEN not in message
    assert len(server.log) == 3


def test_bad_token_fails_at_once_without_retries(server):
    with pytest.raises(HubSpotApiError, match=r"HTTP 401 \(INVALID_AUTHENTICATION\)"):
        HubSpotContactsClient(
            server.url, "wrong", max_retries=3, backoff_factor=0.05
        ).fetch_contacts()
    assert len(server.log) == 1


def test_crm_contacts_asset_loads_from_the_api_when_configured(
    server, landing, instance, monkeypatch, query
):
    monkeypatch.setenv("CDP_CRM_CONTACTS_SOURCE", "api")
    monkeypatch.setenv("CDP_HUBSPOT_BASE_URL", server.url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    server.contacts = [
        contact(1, at(1)),
        contact(2, at(2)),
        contact(1, at(2, 15), lastname="Changed"),  # a later edit of contact 1
        contact(3, at(3), lastmodifieddate="yesterday", updatedAt=None),
        contact(4, at(20)),  # outside the partitions requested
    ]
    server.rate_limited = {1}
    defs = build_definitions()
    assert "hubspot" in defs.resources
    job = defs.resolve_job_def("ingest_sources").get_subset(
        asset_selection={dg.AssetKey("crm_contacts")}
    )
    result = job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-08-01",
            "dagster/asset_partition_range_end": "2026-08-03",
        },
    )
    assert result.success
    assert query("SELECT source_record_id, last_name FROM sources.crm_contacts ORDER BY 1") == [
        ("1", "Changed"),
        ("2", "Last2"),
    ]
    assert query("SELECT reason FROM sources.quarantine") == [
        ('"Last Modified Date" is not a timestamp',)
    ]
    materializations = result.asset_materializations_for_node("crm_contacts")
    assert {m.partition for m in materializations} == {"2026-08-01", "2026-08-02", "2026-08-03"}
    assert all(m.metadata["api_retries"].value == 1 for m in materializations)
    assert all(m.metadata["api_pages"].value == 1 for m in materializations)
    logged = " ".join(str(e) for e in instance.all_logs(result.run_id))
    assert TOKEN not in logged


def test_an_unset_token_fails_only_crm_contacts_naming_the_variable(
    server, landing, instance, monkeypatch, query
):
    monkeypatch.setenv("CDP_CRM_CONTACTS_SOURCE", "api")
    monkeypatch.setenv("CDP_HUBSPOT_BASE_URL", server.url)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    spec = SOURCES["pos_transactions"]
    (landing / spec.name).mkdir()
    (landing / spec.name / "2026-08-01.csv").write_text(
        ",".join(spec.headers) + "\nR1,,S1,2026-08-01 10:00:00,1.00,GBP,1\n"
    )
    job = (
        build_definitions()
        .resolve_job_def("ingest_sources")
        .get_subset(asset_selection={dg.AssetKey("crm_contacts"), dg.AssetKey("pos_transactions")})
    )
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": "2026-08-01",
            "dagster/asset_partition_range_end": "2026-08-01",
        },
    )
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "crm_contacts"
    assert "needs environment variable HUBSPOT_ACCESS_TOKEN, which is not set" in str(
        failure.step_failure_data.error.message
    )
    assert query("SELECT count(*) FROM sources.pos_transactions") == [(1,)]
    assert server.log == []  # nothing was asked of the API without a token
