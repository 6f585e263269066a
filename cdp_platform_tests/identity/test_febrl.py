"""FEBRL3 through the whole pipeline: a data set with no emails or phones, only
names, birth dates and addresses, and a known answer."""

from __future__ import annotations

import csv
from itertools import combinations

import pytest

from benchmarks.febrl import write_febrl3
from cdp_platform.identity import model_store
from cdp_platform.identity.evaluation import pairwise_scores
from cdp_platform.resources.warehouse import connect
from cdp_platform_tests.pipeline_runs import run_landing


def _saved(warehouse):
    """(version, model) of the model a warehouse predicts with."""
    with connect(warehouse) as conn:
        stored = model_store.current(conn)
    return stored.version, stored.model


@pytest.fixture(scope="module")
def febrl3(tmp_path_factory):
    out = tmp_path_factory.mktemp("febrl3")
    landing = write_febrl3(out)
    run_landing(landing, out / "warehouse.duckdb")
    return out


def _true_match_rate(truth_csv) -> float:
    with truth_csv.open() as handle:
        people = [row["true_person"] for row in csv.DictReader(handle)]
    same = sum(a == b for a, b in combinations(people, 2))
    return same / (len(people) * (len(people) - 1) / 2)


def test_prior_is_the_share_of_matching_pairs_not_the_blocked_share(febrl3):
    """Training ends with the prior from the near-certain rules; EM on a
    blocking rule must not leave behind the far higher share of matches among
    the pairs that rule blocked (which turns weak pairs into links)."""
    _, model = _saved(febrl3 / "warehouse.duckdb")
    prior = model["probability_two_random_records_match"]
    true_rate = _true_match_rate(febrl3 / "ground_truth.csv")
    assert true_rate / 4 < prior < true_rate * 2


def test_febrl3_persons_match_the_known_answer(febrl3):
    with connect(febrl3 / "warehouse.duckdb") as conn:
        scores = pairwise_scores(conn, febrl3 / "ground_truth.csv")
        swapped = conn.execute(
            "SELECT count(*) FROM identity.identity_edges WHERE decision = 'linked' "
            "AND evidence LIKE '%first and last name swapped%'"
        ).fetchone()[0]
    assert scores.records == 5000
    # The shipped configuration, as for any other data set.
    assert scores.precision > 0.99 and scores.recall > 0.95
    assert swapped > 0  # names typed in each other's boxes still link
