"""A register of people born centuries ago, with no street, email or phone:
the birth dates are evidence, every comparison is trained, and duplicates
merge. The register is the generated name-only CRM rewritten in the shape of
a historical register (Splink's example data), written by `register.py`."""

from __future__ import annotations

import csv

import pytest

from benchmarks.crm_dedupe import write_crm_dedupe
from benchmarks.register import write_register
from cdp_platform.identity import model_store
from cdp_platform.identity.evaluation import pairwise_scores
from cdp_platform.resources.warehouse import connect
from cdp_platform_tests.pipeline_runs import run_landing


def _historical(row: dict) -> str:
    """The birth date two centuries earlier, as typed."""
    dob = row["Date of Birth"]
    return f"{int(dob[:4]) - 200}{dob[4:]}" if dob else ""


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    out = tmp_path_factory.mktemp("register")
    landing = write_crm_dedupe(out / "crm", persons=1000, seed=8)
    with (landing / "crm_contacts" / "2026-08-01.csv").open(encoding="utf-8") as handle:
        contacts = list(csv.DictReader(handle))
    truth = {
        row["source_record_id"]: row["true_person"]
        for row in csv.DictReader((out / "crm" / "ground_truth.csv").open(encoding="utf-8"))
    }
    source_file = out / "register.csv"
    with source_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "surname", "dob", "postcode_fake", "birth_place", "cluster"])
        for row in contacts:
            writer.writerow(
                [
                    row["First Name"],
                    row["Last Name"],
                    _historical(row),
                    row["Postal Code"],
                    row["City"],
                    truth[row["Record ID"]],
                ]
            )
    landing = write_register(source_file, out / "register")
    warehouse = out / "warehouse.duckdb"
    run_landing(landing, warehouse)
    return warehouse, out / "register" / "ground_truth.csv"


def test_birth_dates_centuries_ago_are_evidence(register):
    warehouse, _ = register
    with connect(warehouse) as conn:
        oldest, dated = conn.execute(
            "SELECT min(dob), count(dob) FROM staging.identity_records"
        ).fetchone()
        stored = model_store.current(conn)
    assert oldest.year < 1900 and dated > 0
    assert stored is not None and "dob" in {
        c["output_column_name"] for c in stored.model["comparisons"]
    }


def test_every_comparison_is_trained_without_street_email_or_phone(register):
    warehouse, _ = register
    with connect(warehouse) as conn:
        stored = model_store.current(conn)
    assert stored.report["problems"] == []
    assert stored.report["training_rules"]


def test_the_register_is_deduplicated(register):
    warehouse, truth = register
    with connect(warehouse) as conn:
        scores = pairwise_scores(conn, truth)
    assert scores.recall > 0.9 and scores.precision > 0.8
