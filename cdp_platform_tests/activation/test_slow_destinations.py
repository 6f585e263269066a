"""Exactly-once in effect when destinations answer slowly, drop connections or the
syncing process dies: local servers that apply a batch and answer late (or never)."""

from __future__ import annotations

import socket

import duckdb
import pytest
import requests

from benchmarks.faults import TOKEN, HubSpotFaultServer, Scenario, run_scenario
from cdp_platform.activation import engine
from cdp_platform.activation.destinations.base import Limits, TransientError, post
from cdp_platform.activation.destinations.hubspot import HubSpotDestination
from cdp_platform.activation.destinations.webhook import WebhookDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.fakes.destinations import SECRET, AppliedThenSlowWebhookServer

FAST = RetryPolicy(
    attempts=6, initial_seconds=0.05, max_seconds=1.0, after_read_timeout_seconds=0.2
)


def rows(n: int) -> list[Row]:
    return [
        Row(f"p{i:03d}@example.org", f"p{i}", {"tier": "gold", "n": i}, consented=i % 5 != 2)
        for i in range(n)
    ]


def hubspot(server, read_timeout: float, concurrency: int = 4) -> HubSpotDestination:
    limits = Limits(
        batch_size=10,
        requests_per_second=500,
        max_concurrency=concurrency,
        timeout_seconds=read_timeout,
    )
    return HubSpotDestination(server.url, TOKEN, limits=limits)


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    yield conn
    conn.close()


def statuses(db, run_id: str) -> dict[str, int]:
    return dict(
        db.execute(
            "SELECT status, count(*) FROM activation.sync_log "
            "WHERE run_id = ? AND operation <> 'skip' GROUP BY 1",
            [run_id],
        ).fetchall()
    )


def held_as_sent(server: HubSpotFaultServer, sent: list[Row]) -> bool:
    expected = {r.key: {k: str(v) for k, v in r.fields.items()} for r in sent if r.consented}
    held = {
        e: {k: v for k, v in c["properties"].items() if k != "email"}
        for e, c in server.contacts.items()
    }
    return held == expected


def test_a_slow_success_within_the_read_timeout_is_answered_not_sent_again(db):
    with HubSpotFaultServer(faults={1: "slow", 2: "slow"}, slow_seconds=1.0) as server:
        report = run_sync(db, "crm", "upsert", rows(50), hubspot(server, 5.0), "r1", policy=FAST)
        assert report.sent == 40 and report.failed == report.unknown == 0
        assert len(server.requests) == 4  # one request a batch: nothing re-sent
        assert set(server.applied.values()) == {1}
        assert held_as_sent(server, rows(50))
    assert statuses(db, "r1") == {"succeeded": 40}


def test_an_answer_past_the_read_timeout_is_retried_with_the_same_key_and_held_once(db):
    """The webhook receiver applied the batch and answered late; the retry carries the same
    `webhook-id`, so the receiver drops it: every record held exactly once."""
    with AppliedThenSlowWebhookServer(slow_after_applying={1, 3}, slow_seconds=1.0) as server:
        dest = WebhookDestination(
            server.url, SECRET, Limits(batch_size=10, requests_per_second=500, timeout_seconds=0.3)
        )
        report = run_sync(db, "hooks", "upsert", rows(50), dest, "r1", policy=FAST)
        assert report.sent == 40 and report.failed == report.unknown == 0
        assert sorted(server.received) == sorted(r.key for r in rows(50) if r.consented)
        # Two batches were delivered twice under one webhook-id each, and applied once.
        assert sorted(server.deliveries.values()) == [1, 1, 2, 2]
    assert statuses(db, "r1") == {"succeeded": 40}


def test_a_hubspot_batch_whose_answer_was_lost_is_read_back_not_sent_again(db):
    """HubSpot's batch upsert honours no idempotency key: a batch applied whose answer
    came too late is confirmed with a batch read, and only what it lacks is sent."""
    with HubSpotFaultServer(faults={1: "slow"}, slow_seconds=1.0) as server:
        report = run_sync(db, "crm", "upsert", rows(50), hubspot(server, 0.3), "r1", policy=FAST)
        assert report.sent == 40 and report.failed == report.unknown == 0
        assert server.keys.count(server.keys[0]) == 1  # the slow batch was not sent again
        assert set(server.applied.values()) == {1}  # every record applied exactly once
        assert held_as_sent(server, rows(50))
    assert statuses(db, "r1") == {"succeeded": 40}


def test_a_batch_dropped_after_applying_is_read_back_not_sent_again(db):
    with HubSpotFaultServer(faults={2: "drop_after"}) as server:
        report = run_sync(db, "crm", "upsert", rows(50), hubspot(server, 0.3), "r1", policy=FAST)
        assert report.sent == 40 and report.failed == report.unknown == 0
        assert set(server.applied.values()) == {1}
        assert held_as_sent(server, rows(50))


class _Unreadable(HubSpotDestination):
    """A destination that cannot be read back: a lost answer leaves the batch unknown."""

    confirm = None


def test_a_batch_timing_out_on_every_attempt_is_unknown_not_failed_and_sent_next_run(db):
    first = rows(50)[0].key
    with HubSpotFaultServer(slow_times={first: 3}, slow_seconds=0.8) as server:
        policy = RetryPolicy(
            attempts=6,
            initial_seconds=0.05,
            after_read_timeout_seconds=0.1,
            read_timeout_attempts=3,
        )
        unreadable = _Unreadable(server.url, TOKEN, limits=hubspot(server, 0.3).limits)
        report = run_sync(db, "crm", "upsert", rows(50), unreadable, "r1", policy=policy)
        # The destination applied it three times; none of its records is logged failed.
        assert (report.sent, report.unknown, report.failed) == (30, 10, 0)
        assert statuses(db, "r1") == {"succeeded": 30, "unknown": 10}
        error = db.execute(
            "SELECT DISTINCT error FROM activation.sync_log WHERE status = 'unknown'"
        ).fetchall()
        assert error == [("unknown after retries, may have been applied: no answer within 0.3s",)]
        marked = db.execute(
            "SELECT count(*) FROM activation.sync_state WHERE failed AND accepted_hash IS NULL"
        ).fetchone()[0]
        assert marked == 10  # so the next run sends them again
        again = run_sync(db, "crm", "upsert", rows(50), hubspot(server, 0.3), "r2", policy=policy)
        assert again.planned == {"upsert": 10} and again.sent == 10
        assert held_as_sent(server, rows(50))
    assert statuses(db, "r2") == {"succeeded": 10}


def test_acknowledgements_are_flushed_while_a_slow_batch_is_in_flight(db, monkeypatch):
    """The old flush waited for the next batch to finish; a slow one held every other
    acknowledgement back, and a kill then re-sent them all."""
    first = rows(50)[0].key
    seen_during_slow: list[int] = []
    original = engine.record_outcomes

    def spy(conn, sync, run_id, outcomes):
        original(conn, sync, run_id, outcomes)
        if server.slow_in_flight:
            # The engine's own connection, in the engine's thread: what a restart would see.
            (committed,) = conn.execute(
                "SELECT count(*) FROM activation.sync_state WHERE accepted_hash IS NOT NULL"
            ).fetchone()
            seen_during_slow.append(committed)

    monkeypatch.setattr(engine, "record_outcomes", spy)
    with HubSpotFaultServer(slow_times={first: 1}, slow_seconds=2.0) as server:
        report = run_sync(
            db, "crm", "upsert", rows(50), hubspot(server, 10.0, concurrency=2), "r1", policy=FAST
        )
        assert report.sent == 40 and len(server.requests) == 4
    assert seen_during_slow, "nothing was flushed while the slow batch was in flight"
    assert seen_during_slow[-1] == 30  # every other batch, before the slow one answered


def test_connection_errors_say_whether_the_request_may_have_been_applied():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError) as refused:
        post(requests.Session(), "POST", f"http://127.0.0.1:{port}/", (1.0, 1.0), json={})
    assert not refused.value.maybe_applied and not refused.value.read_timeout
    with HubSpotFaultServer(faults={1: "slow", 2: "drop_after"}, slow_seconds=0.5) as server:
        url = server.url + "/crm/v3/objects/contacts/batch/upsert"
        session = requests.Session()
        session.headers["authorization"] = f"Bearer {TOKEN}"
        body = {"inputs": [{"idProperty": "email", "id": "a@example.org", "properties": {}}]}
        with pytest.raises(TransientError) as slow:
            post(session, "POST", url, 0.2, json=body)
        assert slow.value.read_timeout and slow.value.maybe_applied
        with pytest.raises(TransientError) as dropped:
            post(session, "POST", url, (1.0, 5.0), json=body)
        assert dropped.value.maybe_applied and not dropped.value.read_timeout


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("kill -9", kill_after=3),
        Scenario("dropped after applying", faults={2: "drop_after"}),
        Scenario("207 partial", reject_share=7),
    ],
    ids=lambda s: s.name,
)
def test_the_fault_matrix_loses_nothing_and_sends_nobody_without_consent(scenario):
    figures = run_scenario(scenario, count=700)
    assert figures["lost"] == 0
    assert figures["sent_without_consent"] == 0
    assert figures["logged_failed_though_applied"] == 0
    # A lost answer is read back, not sent again; so is what a killed run had in flight.
    assert figures["duplicated"] == 0


def test_every_batch_is_journaled_in_flight_before_it_goes_and_cleared_by_its_answer(db):
    """What a restart after `kill -9` would find: the batch whose answer never came is
    marked in flight; the next run confirms it by reading back and sends nothing again."""
    first = rows(50)[0].key
    with HubSpotFaultServer(slow_times={first: 1}, slow_seconds=0.5) as server:
        run_sync(db, "crm", "upsert", rows(50), hubspot(server, 0.2), "r1", policy=FAST)
        assert db.execute(
            "SELECT count(*) FROM activation.sync_state WHERE in_flight_hash IS NOT NULL"
        ).fetchone() == (0,)  # every answer, even the late one's read-back, cleared its mark
        # A run that died with a batch in flight: its marks stayed, its answers never came.
        db.execute(
            """UPDATE activation.sync_state SET in_flight_hash = accepted_hash,
                 accepted_hash = NULL WHERE key IN (SELECT key FROM activation.sync_state
                 ORDER BY key LIMIT 10)"""
        )
        sends = len(server.requests)
        again = run_sync(db, "crm", "upsert", rows(50), hubspot(server, 0.2), "r2", policy=FAST)
        assert again.sent == 10 and len(server.requests) == sends  # confirmed, not re-sent
        assert set(server.applied.values()) == {1}
