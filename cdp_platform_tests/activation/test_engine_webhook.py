"""The sync engine against a local signed-webhook receiver that injects faults."""

from __future__ import annotations

import threading

import duckdb
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.webhook import WebhookDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.fakes.destinations import SECRET, WebhookServer

FAST = RetryPolicy(
    attempts=6, initial_seconds=0.05, max_seconds=2.0, after_read_timeout_seconds=0.5
)


def rows(n: int, **changed) -> list[Row]:
    return [
        Row(f"p{i}@example.org", f"p{i}", {"tier": changed.get(f"p{i}", "gold"), "n": i})
        for i in range(n)
    ]


def destination(server, batch_size=10, timeout=1.0) -> WebhookDestination:
    return WebhookDestination(
        server.url,
        SECRET,
        Limits(batch_size=batch_size, requests_per_second=200, timeout_seconds=timeout),
    )


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    yield conn
    conn.close()


def log(db, run_id: str) -> dict[tuple[str, str], int]:
    return dict(
        db.execute(
            "SELECT operation || '/' || status, count(*) FROM activation.sync_log "
            "WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    )


def test_faults_are_retried_and_the_receiver_holds_each_record_once(db):
    faults = {1: "429", 2: "500", 4: "503", 5: "slow", 7: "drop", 9: "429"}
    with WebhookServer(faults=faults, retry_after="0.2", slow_seconds=1.5) as server:
        report = run_sync(db, "hooks", "mirror", rows(50), destination(server), "r1", policy=FAST)
        assert report.sent == 50 and report.failed == 0
        assert set(server.holds) == {f"p{i}@example.org" for i in range(50)}
        assert len(server.received) == 50  # none twice
        # The slow request was handled after the client gave up on it; its retry carried
        # the same webhook-id, so the receiver dropped it instead of applying it twice.
        assert sorted(server.deliveries.values())[-1] <= 2
        assert sum(server.deliveries.values()) - len(server.deliveries) <= 1
        retried = [o for _, o in server.requests if o != "ok"]
        assert sorted(retried) == sorted(faults.values())
    assert log(db, "r1") == {"upsert/succeeded": 50}


def test_retry_after_is_honoured(db):
    with WebhookServer(faults={1: "429"}, retry_after="1") as server:
        run_sync(db, "hooks", "upsert", rows(3), destination(server), "r1", policy=FAST)
        (first, _), (second, _) = server.requests[:2]
    assert second - first >= 0.95  # waited as told, not the 0.05 s backoff


def test_an_unchanged_second_run_sends_nothing_and_one_change_sends_one(db):
    with WebhookServer() as server:
        run_sync(db, "hooks", "upsert", rows(30), destination(server), "r1", policy=FAST)
        before = len(server.requests)
        again = run_sync(db, "hooks", "upsert", rows(30), destination(server), "r2", policy=FAST)
        assert again.sent == 0 and len(server.requests) == before
        one = run_sync(
            db, "hooks", "upsert", rows(30, p7="platinum"), destination(server), "r3", policy=FAST
        )
        assert one.sent == 1 and len(server.requests) == before + 1
        assert server.holds["p7@example.org"]["tier"] == "platinum"
    assert log(db, "r2") == {}
    assert log(db, "r3") == {"upsert/succeeded": 1}


class Killed(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 3])
def test_a_sync_killed_part_way_and_rerun_sends_no_duplicates_and_loses_nothing(db, workers):
    with WebhookServer() as server:
        dest = destination(server, batch_size=5)
        original = dest.send
        calls = {"n": 0}
        lock = threading.Lock()

        def dies_after_four_batches(*args):
            with lock:
                calls["n"] += 1
                number = calls["n"]
            if number == 5:
                raise Killed("the worker was killed")
            return original(*args)

        dest.send = dies_after_four_batches
        dest.limits = Limits(batch_size=5, requests_per_second=200, max_concurrency=workers)
        with pytest.raises(Killed):
            run_sync(db, "hooks", "upsert", rows(40), dest, "r1", policy=FAST)
        delivered = len(server.holds)
        assert 20 <= delivered < 40
        dest.send = original
        rerun = run_sync(db, "hooks", "upsert", rows(40), dest, "r2", policy=FAST)
        assert rerun.sent == 40 - delivered  # only what the killed run had not delivered
        assert sorted(server.received) == sorted(f"p{i}@example.org" for i in range(40))


def test_persistent_failures_are_logged_and_retried_next_run(db):
    with WebhookServer(faults={n: "503" for n in range(1, 4)}) as server:
        policy = RetryPolicy(attempts=3, initial_seconds=0.01, max_seconds=0.05)
        first = run_sync(db, "hooks", "upsert", rows(5), destination(server), "r1", policy=policy)
        assert (first.sent, first.failed) == (0, 5)
        errors = db.execute(
            "SELECT DISTINCT error FROM activation.sync_log WHERE run_id = 'r1'"
        ).fetchall()
        assert errors == [("gave up after retries: 503 server error",)]
        second = run_sync(db, "hooks", "upsert", rows(5), destination(server), "r2", policy=policy)
        assert second.sent == 5 and len(server.holds) == 5


def test_mirror_removes_who_left_and_who_withdrew_consent(db):
    with WebhookServer() as server:
        run_sync(db, "hooks", "mirror", rows(6), destination(server), "r1", policy=FAST)
        now = [r for r in rows(6) if r.person_id != "p5"]  # p5 left the model
        now = [
            Row(r.key, r.person_id, r.fields, consented=r.person_id != "p2") for r in now
        ]  # p2 withdrew consent
        report = run_sync(db, "hooks", "mirror", now, destination(server), "r2", policy=FAST)
        assert set(server.holds) == {f"p{i}@example.org" for i in (0, 1, 3, 4)}
        assert report.results[("delete", "succeeded")] == 2
    assert log(db, "r2") == {"delete/succeeded": 2, "skip/skipped_consent": 1}


def test_nobody_without_consent_is_ever_sent(db):
    mixed = [
        Row(r.key, r.person_id, r.fields, consented=i % 3 != 0) for i, r in enumerate(rows(30))
    ]
    with WebhookServer() as server:
        run_sync(db, "hooks", "upsert", mixed, destination(server), "r1", policy=FAST)
        denied = {r.key for r in mixed if not r.consented}
        assert not denied & set(server.received)
        assert set(server.received) == {r.key for r in mixed if r.consented}
    skipped = db.execute(
        "SELECT key FROM activation.sync_log WHERE status = 'skipped_consent'"
    ).fetchall()
    assert {k for (k,) in skipped} == denied


def test_a_gone_endpoint_stops_the_sync(db):
    with WebhookServer(gone=True) as server:
        report = run_sync(db, "hooks", "upsert", rows(30), destination(server), "r1", policy=FAST)
        assert report.disabled and "410" in report.disabled
        assert len(server.requests) <= 4  # stopped, not retried batch after batch
        assert server.holds == {}


def test_a_dry_run_plans_and_sends_nothing(db):
    with WebhookServer() as server:
        report = run_sync(db, "hooks", "upsert", rows(12), destination(server), "r1", dry_run=True)
        assert report.planned == {"upsert": 12} and server.requests == []
