"""The run summary's sections, on small hand-made tables."""

from __future__ import annotations

import duckdb

from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform.summary import activation_section


def test_the_activation_table_shows_each_syncs_own_last_run():
    conn = duckdb.connect()
    create_declared_tables(conn)
    # Dagster run r1 synced both; r2 only `crm`, which skipped 60 again.
    log = [("crm", "r1", 1), ("ads", "r1", 2), ("crm", "r2", 3)]
    for sync, run_id, minute in log:
        conn.execute(
            """INSERT INTO activation.sync_log
               SELECT ?, ?, 'p' || i, 'k' || i, 'skip', 'skipped_consent', NULL,
                      TIMESTAMPTZ '2024-05-01 10:00:00+00' + to_minutes(?)
               FROM range(60) t(i)""",
            [sync, run_id, minute],
        )
    conn.execute(
        """INSERT INTO activation.sync_log VALUES
           ('ads', 'r1', 'p1', 'k1', 'add', 'succeeded', NULL, TIMESTAMPTZ '2024-05-01 10:02:00+00')"""
    )
    title, _, rows = activation_section(conn)
    assert "last run" in title
    assert rows == [
        ("ads", "add", "succeeded", 1),
        ("ads", "skip", "skipped_consent", 60),
        ("crm", "skip", "skipped_consent", 60),  # not 120: r1's rows are an earlier run
    ]
