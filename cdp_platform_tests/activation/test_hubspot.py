"""HubSpot-shaped contacts destination: partial failures, whole-batch refusals, limits."""

from __future__ import annotations

import json

import duckdb
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.hubspot import HubSpotDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.fakes.destinations import HUBSPOT_TOKEN, HubSpotContactsServer

FAST = RetryPolicy(attempts=5, initial_seconds=0.05, max_seconds=1.0)


def contacts(n: int, bad: dict[int, str] | None = None) -> list[Row]:
    bad = bad or {}
    found = []
    for i in range(n):
        key = "not-an-email" + str(i) if bad.get(i) == "email" else f"c{i}@example.org"
        stage = "INVALID" if bad.get(i) == "stage" else "lead"
        found.append(Row(key, f"p{i}", {"firstname": f"N{i}", "lifecyclestage": stage}))
    return found


def hubspot(server, batch_size=100) -> HubSpotDestination:
    return HubSpotDestination(
        server.url,
        HUBSPOT_TOKEN,
        limits=Limits(batch_size=batch_size, requests_per_second=200, timeout_seconds=1.0),
    )


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    yield conn
    conn.close()


def test_partial_failures_fail_alone_and_faults_are_retried(db):
    rows = contacts(250, bad={7: "email", 130: "email"})
    faults = {1: "429", 2: "500", 3: "503", 4: "slow", 5: "drop"}
    with HubSpotContactsServer(
        faults=faults, retry_after="0.1", slow_seconds=1.5, echo_id_property=True
    ) as server:
        report = run_sync(db, "crm", "upsert", rows, hubspot(server), "r1", policy=FAST)
        assert (report.sent, report.failed) == (248, 2)
        # Upserts by email: the batch that timed out and was sent again changed nothing.
        expected = {r.key for r in rows if "@" in r.key}
        assert set(server.contacts) == expected
        ids = [c["id"] for c in server.contacts.values()]
        assert len(ids) == len(set(ids)) == 248  # one contact each, none twice
    failed = db.execute(
        "SELECT key, error FROM activation.sync_log WHERE status = 'failed' ORDER BY key"
    ).fetchall()
    assert [k for k, _ in failed] == ["not-an-email130", "not-an-email7"]
    assert all(e.startswith("VALIDATION_ERROR") for _, e in failed)
    # HubSpot's ids are kept for later deletes, each matched to its own contact by the
    # echoed email (the server answers in reverse order: position would mismatch them).
    ids = dict(
        db.execute(
            "SELECT key, destination_id FROM activation.sync_state WHERE NOT failed"
        ).fetchall()
    )
    assert ids == {email: contact["id"] for email, contact in server.contacts.items()}


def test_a_refused_batch_is_split_until_the_bad_record_is_alone(db):
    rows = contacts(40, bad={23: "stage"})
    with HubSpotContactsServer() as server:
        report = run_sync(
            db, "crm", "upsert", rows, hubspot(server, batch_size=40), "r1", policy=FAST
        )
        assert (report.sent, report.failed) == (39, 1)
        assert "c23@example.org" not in server.contacts and len(server.contacts) == 39
        # 40 -> 20 + 20 -> ... -> the one: about 2 log2(40) requests, not 40.
        assert len(server.requests) <= 14


def test_mirror_archives_with_the_remembered_hubspot_ids(db):
    with HubSpotContactsServer() as server:
        run_sync(db, "crm", "mirror", contacts(10), hubspot(server), "r1", policy=FAST)
        run_sync(db, "crm", "mirror", contacts(10)[:7], hubspot(server), "r2", policy=FAST)
        assert sorted(server.archived) == [f"c{i}@example.org" for i in (7, 8, 9)]
        assert len(server.contacts) == 7


def test_the_daily_limit_stops_the_sync_instead_of_retrying(db):
    with HubSpotContactsServer(daily_limit=True) as server:
        report = run_sync(db, "crm", "upsert", contacts(300), hubspot(server), "r1", policy=FAST)
        assert report.disabled == "429 daily request limit reached"
        assert len(server.requests) <= 4  # one per worker at most, no retries


@pytest.mark.parametrize("echo", [False, True], ids=["email-not-echoed", "email-echoed"])
def test_a_mapping_without_email_still_archives_the_right_contacts(db, echo):
    """Nothing in the mapping is the email, so HubSpot need not echo it: ids it did not
    give are looked up by email (batch read) before archiving, never guessed by position."""
    with HubSpotContactsServer(echo_id_property=echo) as server:
        run_sync(db, "crm", "mirror", contacts(10), hubspot(server), "r1", policy=FAST)
        held = {email: c["id"] for email, c in server.contacts.items()}
        report = run_sync(db, "crm", "mirror", contacts(7), hubspot(server), "r2", policy=FAST)
        gone = [f"c{i}@example.org" for i in (7, 8, 9)]
        assert report.results[("delete", "succeeded")] == 3
        assert sorted(server.archived) == gone
        assert set(server.contacts) == {f"c{i}@example.org" for i in range(7)}
        # Looked up only when the upsert's answer did not say.
        assert sorted(server.reads) == ([] if echo else gone)
        assert all(server.contacts[e]["id"] == held[e] for e in server.contacts)
    assert db.execute(
        "SELECT count(*) FROM activation.sync_state WHERE key IN (?, ?, ?)", gone
    ).fetchone() == (0,)


@pytest.mark.parametrize("omit_missing", [False, True], ids=["207-not-found", "left-out"])
def test_a_contact_hubspot_does_not_hold_counts_as_deleted(db, omit_missing):
    with HubSpotContactsServer(omit_missing=omit_missing) as server:
        run_sync(db, "crm", "mirror", contacts(4), hubspot(server), "r1", policy=FAST)
        del server.contacts["c3@example.org"]  # deleted in HubSpot by hand
        report = run_sync(db, "crm", "mirror", contacts(2), hubspot(server), "r2", policy=FAST)
        assert report.results[("delete", "succeeded")] == 2
        assert server.archived == ["c2@example.org"]  # c3 had nothing left to archive
        assert set(server.contacts) == {"c0@example.org", "c1@example.org"}


class UnmatchableReads(HubSpotContactsServer):
    """A read answer whose results name no email: which contact is whose is unknown."""

    def _read(self, payload):
        response = super()._read(payload)
        body = json.loads(response.get_data())
        for result in body["results"]:
            result["properties"] = {"hs_object_id": result["id"]}
        response.set_data(json.dumps(body))
        return response


def test_a_delete_whose_contact_id_is_not_established_is_failed_not_reported_done(db):
    with UnmatchableReads() as server:
        run_sync(db, "crm", "mirror", contacts(4), hubspot(server), "r1", policy=FAST)
        report = run_sync(db, "crm", "mirror", contacts(2), hubspot(server), "r2", policy=FAST)
        assert (report.sent, report.failed) == (0, 2)
        assert server.archived == [] and len(server.contacts) == 4  # nothing archived
    failed = db.execute(
        "SELECT key, error FROM activation.sync_log WHERE status = 'failed' ORDER BY key"
    ).fetchall()
    assert [k for k, _ in failed] == ["c2@example.org", "c3@example.org"]
    assert all("not established" in e for _, e in failed)
    # Still in the state: the next run tries the delete again.
    assert db.execute(
        "SELECT count(*) FROM activation.sync_state WHERE key IN ('c2@example.org', "
        "'c3@example.org') AND failed"
    ).fetchone() == (2,)
