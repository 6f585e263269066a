"""`cdp demo generate` and `cdp run` end to end, through the installed console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from cdp_platform.activation.config import load_syncs
from cdp_platform.definitions import build_definitions
from cdp_platform.segments.config import load_segments
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.partitions import daily_partitions

CDP = str(Path(sys.executable).parent / "cdp")
# `[   12.3s] identity / identity_edges done in 4.1s, 12,345 rows`
STEP_LINE = re.compile(
    r"\[ *(?P<elapsed>[\d.]+)s\] (?P<group>\S+) / (?P<step>\S+) "
    r"(?P<state>started|done|failed)( in [\d.]+s)?(, (?P<rows>[\d,]+) rows)?"
)


def cdp(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "DAGSTER_HOME"))
    }
    return subprocess.run(
        [CDP, *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo")
    generated = cdp(
        "demo", "generate", "--persons", "150", "--days", "6", "--seed", "7", "--out", str(out)
    )
    assert generated.returncode == 0, generated.stderr
    assert "Ground truth" in generated.stdout
    ran = cdp(
        "run", "--landing", str(out / "landing"), "--warehouse", str(out / "warehouse.duckdb")
    )
    return out, ran


def test_cdp_run_loads_every_source_and_prints_the_summary(demo_run):
    out, ran = demo_run
    assert ran.returncode == 0, ran.stderr
    assert "Sources" in ran.stdout and "quarantined" in ran.stdout
    for source in SOURCES:
        assert source in ran.stdout
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sources.crm_contacts").fetchone()[0] > 0


def test_every_landing_row_is_loaded_or_quarantined_and_malformed_rows_match(demo_run):
    out, ran = demo_run
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((out / "demo_manifest.json").read_text())
    expected = {}
    for name, info in manifest["files"].items():
        source = name.split("/")[0]
        rows, bad = expected.get(source, (0, 0))
        expected[source] = (rows + info["rows"], bad + info["malformed"])
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        loaded = dict(
            conn.execute(
                "SELECT source, sum(rows_loaded) FROM sources.partition_loads GROUP BY 1"
            ).fetchall()
        )
        quarantined = dict(
            conn.execute("SELECT source, count(*) FROM sources.quarantine GROUP BY 1").fetchall()
        )
        raw_rows = {
            s: conn.execute(f"SELECT count(*) FROM {SOURCES[s].raw_table}").fetchone()[0]
            for s in expected
        }
        # Rows of erased subjects left the tables after loading; the erasure log counts them.
        erased = dict(
            conn.execute(
                "SELECT table_name, sum(rows) FROM privacy.erasure_log GROUP BY 1"
            ).fetchall()
        )
    assert sum(bad for _, bad in expected.values()) > 0  # the check is not vacuous
    for source, (rows, bad) in expected.items():
        assert quarantined.get(source, 0) == bad, source
        assert loaded[source] + quarantined.get(source, 0) == rows, source
        assert raw_rows[source] + erased.get(SOURCES[source].raw_table, 0) == loaded[source], source


def test_cdp_run_reports_a_missing_landing_folder_in_one_line(tmp_path):
    result = cdp(
        "run", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip() == f"cdp: error: landing folder {tmp_path / 'nowhere'} does not exist"
    )


def test_cdp_run_reports_an_empty_landing_folder(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cdp(
        "run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.returncode == 1
    assert result.stderr.startswith("cdp: error: no landing files in ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cdp_run_names_an_unreadable_file_and_loads_the_rest(tmp_path):
    landing = tmp_path / "landing"
    (landing / "crm_companies").mkdir(parents=True)
    (landing / "crm_companies" / "2026-08-01.csv").write_bytes(b"Record ID\n\xff\n")
    (landing / "pos_transactions").mkdir()
    (landing / "pos_transactions" / "2026-08-01.csv").write_text(
        ",".join(SOURCES["pos_transactions"].headers) + "\nR1,,S1,2026-08-01 10:00:00,1.00,GBP,1\n"
    )
    result = cdp("run", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"))
    assert result.returncode == 1
    assert "crm_companies/2026-08-01.csv: not valid UTF-8" in result.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sources.pos_transactions").fetchone()[0] == 1


def test_cdp_demo_generate_rejects_a_bad_date_in_one_line(tmp_path):
    result = cdp("demo", "generate", "--start", "2026-13-01", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "is not a date in YYYY-MM-DD form" in result.stderr


def test_the_committed_demo_set_runs_through_every_layer(tmp_path):
    """What `make run` does on a fresh checkout: the shipped demo files, start to
    end, with the instance `make ui` shows and partitions from the demo's start."""
    data = PROJECT_ROOT / "data"
    start = json.loads((data / "demo_manifest.json").read_text())["parameters"]["start"]
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.local.yaml").read_text())
    warehouse = tmp_path / "warehouse.duckdb"
    env = {"DAGSTER_HOME": str(home), "CDP_START_DATE": start}
    ran = cdp("run", "--landing", str(data / "landing"), "--warehouse", str(warehouse), env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "Golden profiles" in ran.stdout and "B2B accounts" in ran.stdout

    # Every layer has something to show: both predictive models trained, every
    # shipped segment has members and every shipped sync sent some.
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        models = {
            row[0] for row in conn.execute("SELECT model FROM profiles.score_models").fetchall()
        }
        members = dict(
            conn.execute(
                "SELECT segment, count(*) FROM segments.segment_memberships GROUP BY 1"
            ).fetchall()
        )
        sent = dict(
            conn.execute(
                "SELECT sync, count(*) FROM activation.sync_log WHERE status = 'succeeded' GROUP BY 1"
            ).fetchall()
        )
        days = conn.execute(
            "SELECT min(partition_date)::VARCHAR, max(partition_date)::VARCHAR "
            "FROM sources.partition_loads"
        ).fetchone()
        loaded_by_day = {
            (source, day): rows
            for source, day, rows in conn.execute(
                "SELECT source, partition_date::VARCHAR, rows_loaded FROM sources.partition_loads"
            ).fetchall()
        }
        loaded_by_source = dict(
            conn.execute(
                "SELECT source, sum(rows_loaded) FROM sources.partition_loads GROUP BY 1"
            ).fetchall()
        )
    assert models == {"churn", "value"}
    assert {segment.name: members.get(segment.name, 0) > 0 for segment in load_segments()} == {
        segment.name: True for segment in load_segments()
    }
    assert {sync.name: sent.get(sync.name, 0) > 0 for sync in load_syncs().syncs} == {
        sync.name: True for sync in load_syncs().syncs
    }
    # No source's day in the loaded range is missing in the instance.
    assert days[0] == start
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("CDP_START_DATE", start)
        with dg.DagsterInstance.get() as instance:
            loaded = [d for d in daily_partitions().get_partition_keys() if d <= days[1]]
            assert loaded[0] == start
            for source in SOURCES:
                missing = set(loaded) - instance.get_materialized_partitions(dg.AssetKey(source))
                assert not missing, (source, sorted(missing)[:5])
            # Each day's materialization carries that day's rows, not the backfill's.
            for day in (loaded[0], loaded[len(loaded) // 2], loaded[-1]):
                (record,) = instance.fetch_materializations(
                    dg.AssetRecordsFilter(dg.AssetKey("shop_orders"), asset_partitions=[day]),
                    limit=1,
                ).records
                meta = record.asset_materialization.metadata
                assert meta["dagster/row_count"].value == loaded_by_day[("shop_orders", day)]

    # While it runs: a line as each step starts and ends, and nothing else (no
    # library's warnings: they go to the run's log).
    lines = ran.stderr.splitlines()
    steps = [STEP_LINE.fullmatch(line) for line in lines]
    assert all(steps), [line for line in lines if not STEP_LINE.fullmatch(line)][:5]
    started = [step["step"] for step in steps if step["state"] == "started"]
    done = [step["step"] for step in steps if step["state"] == "done"]
    assets = {
        key.path[-1] for key in build_definitions().resolve_asset_graph().get_all_asset_keys()
    }
    assert sorted(started) == sorted(done) and assets <= set(done)
    # A source's line counts the rows of every day it loaded.
    rows = {step["step"]: step["rows"] for step in steps if step["state"] == "done"}
    for source in SOURCES:
        assert rows[source] == f"{loaded_by_source[source]:,}", source
    elapsed = [float(step["elapsed"]) for step in steps]
    assert elapsed == sorted(elapsed)


def test_segment_list_and_preview_count_without_writing(demo_run):
    out, ran = demo_run
    assert ran.returncode == 0, ran.stderr
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        stored = dict(
            conn.execute(
                "SELECT segment, count(*) FROM segments.segment_memberships GROUP BY 1"
            ).fetchall()
        )
        emails = [
            e for (e,) in conn.execute("SELECT email FROM profiles.golden_profiles").fetchall()
        ]
        events = conn.execute("SELECT count(*) FROM segments.segment_membership_events").fetchone()

    listed = cdp("segment", "list", "--warehouse", str(warehouse))
    assert listed.returncode == 0, listed.stderr
    for name, size in stored.items():
        line = next(row for row in listed.stdout.splitlines() if row.startswith(name + " "))
        assert f" {size:,} " in line

    name, size = max(stored.items(), key=lambda kv: kv[1])
    shown = cdp("segment", "preview", name, "--warehouse", str(warehouse), "--sample", "5")
    assert shown.returncode == 0, shown.stderr
    assert f"Segment {name} as of " in shown.stdout and f": {size:,} persons" in shown.stdout
    assert len(shown.stdout.strip().splitlines()) == 1 + 2 + min(size, 5)  # title, header, rows
    assert not any(email and email in shown.stdout for email in emails)  # masked
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        after = conn.execute("SELECT count(*) FROM segments.segment_membership_events").fetchone()
    assert after == events  # a preview writes nothing

    assert "None" not in shown.stdout  # a missing value is an empty cell

    unknown = cdp("segment", "preview", "no_such_segment", "--warehouse", str(warehouse))
    assert unknown.returncode != 0 and "no segment named 'no_such_segment'" in unknown.stderr

    # A warehouse named but missing is an error, as for every command that reads one.
    missing = cdp("segment", "list", "--warehouse", str(out / "missing.duckdb"))
    assert missing.returncode != 0 and "does not exist: run `cdp run` first" in missing.stderr


def test_privacy_report_prints_everything_held_about_an_email(demo_run):
    out, ran = demo_run
    assert ran.returncode == 0, ran.stderr
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        person, email, statements, records = conn.execute(
            """SELECT g.person_id, g.email,
                      (SELECT count(*) FROM profiles.consent_statements s
                       WHERE s.person_id = g.person_id),
                      (SELECT count(*) FROM identity.person_id_map m
                       WHERE m.person_id = g.person_id)
               FROM profiles.golden_profiles g WHERE g.email IS NOT NULL
               ORDER BY len(g.sources) DESC, g.person_id LIMIT 1"""
        ).fetchone()
    shown = cdp("privacy", "report", "--email", email.upper(), "--warehouse", str(warehouse))
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["persons"] == [person]
    assert report["profile"][0]["email"] == email
    assert len(report["consent_history"]) == statements
    assert len(report["source_records"]) == records > 1
    assert {c["purpose"] for c in report["consent"]} == {
        "email_marketing",
        "sms",
        "advertising",
        "analytics",
    }

    unknown = cdp(
        "privacy", "report", "--email", "nobody@nowhere.example", "--warehouse", str(warehouse)
    )
    assert unknown.returncode != 0 and "no person holds that email" in unknown.stderr


def test_cdp_run_refuses_a_warehouse_it_can_never_write_in_one_line(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    landing = tmp_path / "landing"
    (landing / "pos_transactions").mkdir(parents=True)
    result = cdp(
        "run", "--landing", str(landing), "--warehouse", str(tmp_path / "a_file" / "w.duckdb")
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"cdp: error: warehouse folder {tmp_path / 'a_file'} cannot be created: a file is in the way"
    )


def test_cdp_run_warns_of_landing_entries_it_cannot_load_and_loads_the_rest(tmp_path):
    landing = tmp_path / "landing"
    (landing / "pos_transactions").mkdir(parents=True)
    (landing / "pos_transactions" / "2026-08-01.csv").write_text(
        ",".join(SOURCES["pos_transactions"].headers) + "\nR1,,S1,2026-08-01 10:00:00,1.00,GBP,1\n"
    )
    (landing / "pos_loyalty").mkdir()
    (landing / "pos_loyalty" / "2026-13-45.csv").write_text("card_number\n")
    (landing / "pos_loyalty" / "data.csv").write_text("card_number\n")
    (landing / "tills").mkdir()
    (landing / "tills" / "2026-08-01.csv").write_text("x\n")
    result = cdp("run", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("cdp: warning: ")]
    assert len(warnings) == 3, result.stderr
    for entry in ("pos_loyalty/2026-13-45.csv", "pos_loyalty/data.csv", "tills"):
        assert any(entry in line for line in warnings), entry
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sources.pos_transactions").fetchone()[0] == 1
