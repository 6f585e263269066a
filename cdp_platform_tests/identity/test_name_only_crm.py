"""A CRM export with duplicates and no emails or phones, deduplicated out of the box.

The hand-made rows (`crm_dedupe.HAND_MADE`) sit inside a generated export of
about 1,400 contacts, enough for the model to train, and the shipped identity
configuration is used unchanged."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks.crm_dedupe import hand_made_duplicates, write_crm_dedupe
from cdp_platform.definitions import build_definitions
from cdp_platform.identity import model_store
from cdp_platform.identity.evaluation import pairwise_scores
from cdp_platform.pipeline import run_pipeline
from cdp_platform_tests.pipeline_runs import run_landing

DAY_FILE = "crm_contacts/2026-08-01.csv"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    out = tmp_path_factory.mktemp("crm")
    landing = write_crm_dedupe(out / "generated", persons=1000, seed=5)
    hand = hand_made_duplicates(out / "hand")
    # The hand-made rows appended to the generated export, truth with them.
    with (hand / DAY_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (landing / DAY_FILE).open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0])).writerows(rows)
    truth = (out / "generated" / "ground_truth.csv").read_text()
    hand_truth = (out / "hand" / "ground_truth.csv").read_text().splitlines()[1:]
    (out / "truth.csv").write_text(truth.rstrip("\n") + "\n" + "\n".join(hand_truth) + "\n")
    warehouse = out / "warehouse.duckdb"
    run_landing(landing, warehouse)
    return warehouse, out / "truth.csv"


def _person(conn, record_id: str) -> str:
    return conn.execute(
        "SELECT person_id FROM identity.person_id_map "
        "WHERE source = 'crm_contacts' AND source_record_id = ?",
        [record_id],
    ).fetchone()[0]


@pytest.mark.parametrize(
    "first, second, case",
    [
        ("101", "102", "nickname"),
        ("103", "104", "surname typo"),
        ("105", "106", "day and month swapped"),
        ("107", "108", "postcode missing"),
        ("117", "118", "surname in the first-name box, last name empty"),
    ],
)
def test_hand_made_duplicates_merge(crm, first, second, case):
    with duckdb.connect(str(crm[0]), read_only=True) as conn:
        assert _person(conn, first) == _person(conn, second), case


@pytest.mark.parametrize(
    "first, second, case",
    [
        ("109", "110", "household"),
        ("111", "112", "twins: one surname, address and birth date; different first names"),
        ("113", "114", "a senior and a junior: one name at one address, born 30 years apart"),
        ("115", "116", "one common name in two towns"),
        ("119", "120", "a senior and a junior whose names are rare, one postcode missing"),
    ],
)
def test_different_people_stay_apart(crm, first, second, case):
    with duckdb.connect(str(crm[0]), read_only=True) as conn:
        assert _person(conn, first) != _person(conn, second), case


def test_twins_are_weighed_as_a_family(crm):
    """A shared birth date counts for less between members of one family: the
    model learnt from the export how often they share one, and says so in the
    evidence of the family pairs it scores."""
    with duckdb.connect(str(crm[0]), read_only=True) as conn:
        twins = conn.execute(
            "SELECT decision FROM identity.identity_edges "
            "WHERE record_a = 'crm_contacts:111' AND record_b = 'crm_contacts:112'"
        ).fetchone()
        noted = conn.execute(
            "SELECT count(*) FROM identity.identity_edges WHERE evidence LIKE ?",
            ["%family: dob equal as often as a family's members' is, Bayes factor x%"],
        ).fetchone()[0]
        report = conn.execute(
            "SELECT report_json FROM identity.model_versions WHERE is_current"
        ).fetchone()[0]
    # Scored below the candidates kept, or refused.
    assert twins is None or twins[0] != "linked"
    assert noted > 0
    # A rate learnt from the export: some family pairs share a birth date, most do not.
    assert 0 < json.loads(report)["family"]["family_agreement"]["dob"] < 0.1


def test_twins_do_not_teach_that_one_person_s_first_names_differ(crm):
    """Twins share a surname, a home and a birth date: trained as strangers, EM
    takes them for one person whose first name was typed wholly wrong. Trained
    with the family's dependence, one person's first names rarely differ
    wholly (the export's copies never change a first name but by nickname,
    swap or a name typed in the other box)."""
    with duckdb.connect(str(crm[0])) as conn:  # `current` ensures its table
        model = model_store.current(conn).model
    first_name = next(c for c in model["comparisons"] if c["output_column_name"] == "first_name")
    differ = next(
        lv
        for lv in first_name["comparison_levels"]
        if lv["label_for_charts"] == "All other comparisons"
    )
    assert differ["m_probability"] < 0.02


def test_the_export_is_deduplicated(crm):
    warehouse, truth = crm
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        scores = pairwise_scores(conn, truth)
        model_fields = conn.execute(
            "SELECT model_json FROM identity.model_versions WHERE is_current"
        ).fetchone()
    assert model_fields is not None  # a model was trained on names, dates and addresses
    assert scores.recall > 0.9 and scores.precision > 0.8


def _cdp(*args: str, warehouse) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cdp"), *args, "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
    )


def test_review_labels_decide_the_next_run_both_ways(crm, monkeypatch):
    """Runs last in this module: it changes the warehouse."""
    warehouse, _ = crm
    listed = _cdp("identity", "review", "--limit", "3", warehouse=warehouse)
    assert listed.returncode == 0, listed.stderr
    assert "probability" in listed.stdout and "--label" in listed.stdout
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        linked = conn.execute(
            "SELECT record_a, record_b FROM identity.identity_edges WHERE edge_kind = "
            "'probabilistic' AND decision = 'linked' ORDER BY match_probability LIMIT 1"
        ).fetchone()
        refused = conn.execute(
            "SELECT record_a, record_b FROM identity.identity_edges WHERE edge_kind = "
            "'probabilistic' AND decision = 'refused' ORDER BY match_probability DESC LIMIT 1"
        ).fetchone()
    assert (
        _cdp("identity", "review", "--label", *linked, "non-match", warehouse=warehouse).returncode
        == 0
    )
    assert (
        _cdp("identity", "review", "--label", *refused, "match", warehouse=warehouse).returncode
        == 0
    )
    bad = _cdp(
        "identity",
        "review",
        "--label",
        linked[0],
        "crm_contacts:nope",
        "match",
        warehouse=warehouse,
    )
    assert bad.returncode != 0 and "must be two records" in bad.stderr

    landing = warehouse.parent / "generated" / "landing"
    monkeypatch.setenv("CDP_LANDING_DIR", str(landing))
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CDP_START_DATE", "2026-08-01")
    result = run_pipeline(build_definitions(), landing)
    assert result.success

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert _person(conn, linked[0].split(":")[1]) != _person(conn, linked[1].split(":")[1])
        assert _person(conn, refused[0].split(":")[1]) == _person(conn, refused[1].split(":")[1])
        refusal = conn.execute(
            "SELECT refusal FROM identity.identity_edges WHERE record_a = ? AND record_b = ?",
            list(linked),
        ).fetchone()[0]
        labelled = conn.execute(
            "SELECT count(label) FROM identity.review_queue WHERE label IS NOT NULL"
        ).fetchone()[0]
        models, report = conn.execute(
            "SELECT count(*), max(report_json) FILTER (WHERE is_current) "
            "FROM identity.model_versions"
        ).fetchone()
    assert refusal == "labelled non-match in review"
    assert labelled >= 1
    # The labels retrained the model, which learnt from the labelled match.
    assert models == 2 and "trained: EM and 1 labelled matches" in report
