"""Braze-shaped messaging and a Meta-shaped ad audience, through the engine."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.braze import BrazeDestination
from cdp_platform.activation.destinations.meta import (
    MetaAudienceDestination,
    normalise_email,
    normalise_phone,
)
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.fakes.destinations import (
    BRAZE_KEY,
    META_TOKEN,
    BrazeServer,
    MetaAudienceServer,
)

FAST = RetryPolicy(attempts=5, initial_seconds=0.05, max_seconds=1.0)
FAULTS = {1: "429", 2: "503", 4: "slow", 6: "drop", 8: "500"}  # Retry-After, 5xx, timeout, reset


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    yield conn
    conn.close()


def people(n: int, invalid: int | None = None) -> list[Row]:
    return [
        Row(
            f"p{i}",
            f"p{i}",
            {"tier": "INVALID" if i == invalid else "gold", "email": f"P{i}@Example.org "},
        )
        for i in range(n)
    ]


def test_braze_attributes_with_faults_and_a_per_item_error(db):
    with BrazeServer(faults=FAULTS, retry_after="0.1", slow_seconds=1.5) as server:
        braze = BrazeDestination(server.url, BRAZE_KEY, limits=Limits(75, 200, timeout_seconds=1.0))
        report = run_sync(db, "braze", "upsert", people(200, invalid=120), braze, "r1", policy=FAST)
        assert (report.sent, report.failed) == (199, 1)
        assert len(server.users) == 199 and "p120" not in server.users
    error = db.execute("SELECT error FROM activation.sync_log WHERE status = 'failed'").fetchone()
    assert error == ("braze: 'tier' is not valid",)


def test_braze_audience_events_for_entered_and_exited(db):
    with BrazeServer() as server:
        braze = BrazeDestination(server.url, BRAZE_KEY, audience="lapsed_customers")
        run_sync(db, "braze-aud", "remove", people(5), braze, "r1", policy=FAST)
        run_sync(db, "braze-aud", "remove", people(5)[:3], braze, "r2", policy=FAST)
        assert sorted(server.events) == sorted(
            [(f"p{i}", "lapsed_customers_entered") for i in range(5)]
            + [("p3", "lapsed_customers_exited"), ("p4", "lapsed_customers_exited")]
        )


def test_meta_hashes_normalised_identifiers_and_removes_leavers(db):
    rows = [
        Row("p1", "p1", {"email": "  Ann.Smith@Example.ORG ", "phone": "+44 7700 900123"}),
        Row("p2", "p2", {"email": "bob@example.org", "phone": None}),
        Row("p3", "p3", {"email": None, "phone": None}),  # nothing to match on
    ]
    faults = {1: "429", 2: "500", 3: "503", 4: "slow", 5: "drop"}
    with MetaAudienceServer(faults=faults, retry_after="0.1", slow_seconds=1.5) as server:
        meta = MetaAudienceDestination(
            server.url, "6000", META_TOKEN, limits=Limits(10_000, 50, timeout_seconds=1.0)
        )
        patient = RetryPolicy(attempts=6, initial_seconds=0.05, max_seconds=1.0)
        report = run_sync(db, "meta", "remove", rows, meta, "r1", policy=patient)  # 5 faults
        assert (report.sent, report.failed) == (2, 1)
        ann = (
            hashlib.sha256(b"ann.smith@example.org").hexdigest(),
            hashlib.sha256(b"447700900123").hexdigest(),
        )
        assert ann in server.members and len(server.members) == 2
        # Nothing raw left the platform: every value sent was a 64-character hash.
        assert all(len(v) in (0, 64) for row in server.members for v in row)
        run_sync(db, "meta", "remove", rows[1:], meta, "r2", policy=FAST)  # p1 left
        assert ann not in server.members and len(server.members) == 1


def test_meta_normalisation_rules():
    assert normalise_email("  Ann@Example.ORG ") == "ann@example.org"
    assert normalise_phone("+44 7700-900123") == "447700900123"  # profiles hold E.164
    assert normalise_phone("0044 7700 900123") == "447700900123"
    assert normalise_phone("") is None
