"""HubSpot-shaped contacts destination: partial failures, whole-batch refusals, limits."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.hubspot import HubSpotDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
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
    yield conn
    conn.close()


def test_partial_failures_fail_alone_and_faults_are_retried(db):
    rows = contacts(250, bad={7: "email", 130: "email"})
    faults = {1: "429", 2: "500", 3: "503", 4: "slow", 5: "drop"}
    with HubSpotContactsServer(faults=faults, retry_after="0.1", slow_seconds=1.5) as server:
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
    # HubSpot's ids are kept for later deletes.
    ids = db.execute(
        "SELECT count(destination_id) FROM activation.sync_state WHERE NOT failed"
    ).fetchone()
    assert ids == (248,)


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
