"""The retail benchmark generator: contract-shaped, deterministic, and loadable by `cdp run`."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from benchmarks.retail_generator import generate
from cdp_platform.source_contracts import PERSON_SOURCES, SOURCES

CDP = str(Path(sys.executable).parent / "cdp")
PERSONS, SEED, START, DAYS = 300, 5, date(2026, 8, 1), 30


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("retail")
    return out, generate(out, persons=PERSONS, seed=SEED, start=START, days=DAYS)


@pytest.fixture(scope="module")
def pipeline(generated) -> tuple[subprocess.CompletedProcess, Path]:
    out, _ = generated
    warehouse = out / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "DAGSTER_HOME"))}
    ran = subprocess.run(
        [CDP, "run", "--landing", str(out / "landing"), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env={**env, "CDP_START_DATE": START.isoformat()},
        timeout=300,
    )
    return ran, warehouse


def truth_rows(out: Path) -> list[dict]:
    with (out / "ground_truth.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_files_follow_the_landing_contract(generated):
    out, counts = generated
    folders = {p.name for p in (out / "landing").iterdir()}
    assert folders == {*PERSON_SOURCES, "crm_companies"}
    for source in folders:
        spec = SOURCES[source]
        names = sorted(p.name for p in (out / "landing" / source).iterdir())
        assert names and all(n.endswith(f".{spec.extension}") for n in names)
        assert all(date.fromisoformat(n.split(".")[0]) >= START for n in names)
        if spec.format == "csv":
            first = (out / "landing" / source / names[0]).read_text(encoding="utf-8")
            assert first.splitlines()[0] == ",".join(spec.headers)
    assert counts["persons"] == PERSONS
    assert counts["ground_truth_records"] == len(truth_rows(out))


def test_same_seed_same_bytes_other_seed_differs(generated, tmp_path):
    out, _ = generated
    again, other = tmp_path / "again", tmp_path / "other"
    generate(again, persons=PERSONS, seed=SEED, start=START, days=DAYS)
    generate(other, persons=PERSONS, seed=SEED + 1, start=START, days=DAYS)
    truth = (out / "ground_truth.csv").read_bytes()
    assert (again / "ground_truth.csv").read_bytes() == truth
    assert (other / "ground_truth.csv").read_bytes() != truth
    orders = "landing/shop_orders/2026-08-10.csv"
    assert (again / orders).read_bytes() == (out / orders).read_bytes()


def test_heavy_repeat_buyers_exist(generated):
    out, counts = generated
    orders = Counter(r["true_person"] for r in truth_rows(out) if r["source"] == "shop_orders")
    assert sum(1 for n in orders.values() if n >= 10) >= 3
    assert counts["orders"] == sum(orders.values())


def test_pipeline_maps_every_true_record_and_quarantines_nothing(generated, pipeline):
    out, _ = generated
    ran, warehouse = pipeline
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        missing = conn.execute(
            """
            SELECT t.source, t.source_record_id
            FROM read_csv(?, header = true, all_varchar = true) t
            ANTI JOIN identity.person_id_map m USING (source, source_record_id)
            """,
            [str(out / "ground_truth.csv")],
        ).fetchall()
        quarantined = conn.execute("SELECT source, reason FROM sources.quarantine").fetchall()
    assert missing == []
    assert quarantined == []  # the generator plants no malformed rows
