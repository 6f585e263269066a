"""A Postgres table as a destination, against the real local Postgres server."""

from __future__ import annotations

import uuid

import duckdb
import psycopg
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.postgres import PostgresDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.postgres import DSN

FAST = RetryPolicy(attempts=2, initial_seconds=0.01, max_seconds=0.05)


@pytest.fixture
def table():
    name = f"audience_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            # A check the data can break, to see a refused row found and failed alone.
            conn.execute(
                f"CREATE TABLE {name} (email TEXT PRIMARY KEY, person_id TEXT, tier TEXT "
                "CHECK (tier <> 'BAD'), city TEXT, synced_at TIMESTAMPTZ DEFAULT now())"
            )
    except psycopg.OperationalError:
        pytest.fail("the local Postgres server on 127.0.0.1:5432 is not running")
    yield name
    with psycopg.connect(DSN) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def rows(n: int, **tiers) -> list[Row]:
    return [
        Row(f"u{i}@example.org", f"p{i}", {"tier": tiers.get(f"p{i}", "gold"), "city": "Leeds"})
        for i in range(n)
    ]


def held(table: str) -> dict[str, str]:
    with psycopg.connect(DSN) as conn:
        return dict(conn.execute(f"SELECT email, tier FROM {table}").fetchall())


def destination(table: str, dsn: str = DSN) -> PostgresDestination:
    return PostgresDestination(
        dsn, table, "email", ["tier", "city"], limits=Limits(batch_size=50, requests_per_second=100)
    )


def test_upsert_change_and_mirror_delete(table):
    db = duckdb.connect()
    create_declared_tables(db)
    report = run_sync(db, "pg", "mirror", rows(120), destination(table), "r1", policy=FAST)
    assert report.sent == 120 and len(held(table)) == 120
    again = run_sync(db, "pg", "mirror", rows(120), destination(table), "r2", policy=FAST)
    assert again.sent == 0
    changed = rows(118, p5="platinum")  # p118 and p119 left the model
    third = run_sync(db, "pg", "mirror", changed, destination(table), "r3", policy=FAST)
    assert third.results[("upsert", "succeeded")] == 1
    assert third.results[("delete", "succeeded")] == 2
    holding = held(table)
    assert len(holding) == 118 and holding["u5@example.org"] == "platinum"


def test_a_row_the_table_refuses_fails_alone(table):
    db = duckdb.connect()
    create_declared_tables(db)
    report = run_sync(
        db, "pg", "upsert", rows(50, p31="BAD"), destination(table), "r1", policy=FAST
    )
    assert (report.sent, report.failed) == (49, 1)
    assert "u31@example.org" not in held(table)
    assert db.execute("SELECT key FROM activation.sync_log WHERE status = 'failed'").fetchall() == [
        ("u31@example.org",)
    ]


def test_an_unreachable_database_fails_the_rows_and_the_next_run_delivers(table):
    db = duckdb.connect()
    create_declared_tables(db)
    down = destination(table, "host=127.0.0.1 port=1 dbname=test user=postgres")
    first = run_sync(db, "pg", "upsert", rows(10), down, "r1", policy=FAST)
    assert (first.sent, first.failed) == (0, 10)
    second = run_sync(db, "pg", "upsert", rows(10), destination(table), "r2", policy=FAST)
    assert second.sent == 10 and len(held(table)) == 10
