"""The Splink model asset: built from the evidence present, kept in its warehouse
with a version, reused, checked, and used for edges."""

from __future__ import annotations

import math
import shutil
from datetime import date

import dagster as dg
import numpy as np
import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.identity import model_store, splink_model
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.pipeline import run_pipeline
from cdp_platform.resources.warehouse import connect
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.pipeline_runs import run_landing


def _models(warehouse) -> list[tuple[str, bool]]:
    with connect(warehouse) as conn:
        return conn.execute(
            f"SELECT version, is_current FROM {model_store.TABLE} ORDER BY trained_at"
        ).fetchall()


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("model-demo")
    generate(out, persons=500, days=20, start=date(2026, 8, 1), seed=9)
    return out / "landing"


def test_model_is_trained_saved_reused_and_used_for_edges(
    demo_landing, tmp_path, monkeypatch, query
):
    landing = tmp_path / "generated"
    shutil.copytree(demo_landing, landing)
    monkeypatch.setenv("CDP_LANDING_DIR", str(landing))
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))

    assert run_pipeline(build_definitions(), landing).success
    ((version, current),) = _models(warehouse)
    assert current
    with connect(warehouse) as conn:
        stored = model_store.current(conn)
    assert stored.version == version and stored.model["link_type"] == "dedupe_only"
    assert not stored.report["problems"]
    # Families: more people share a surname and a home than chance would give.
    family = stored.report["family"]
    assert family["dependence"] > 1 and 0 < family["one_person_share"] < 1
    # Built from the fields present: the demo carries all of them.
    assert {c["output_column_name"] for c in stored.model["comparisons"]} == {
        "first_name",
        "last_name",
        "dob",
        "email",
        "phone",
        "address",
    }
    assert (model_store.charts_dir(warehouse) / "match_weights.html").exists()
    kinds = dict(query("SELECT edge_kind, count(*) FROM identity.identity_edges GROUP BY 1"))
    assert kinds.get("probabilistic", 0) > 0 and kinds.get("deterministic", 0) > 0
    evidence = query(
        "SELECT evidence FROM identity.identity_edges WHERE edge_kind = 'probabilistic' LIMIT 1"
    )
    assert evidence[0][0].startswith("splink match probability ")
    # The comparisons behind the probability are named, field by field.
    assert query(
        "SELECT count(*) FROM identity.identity_edges WHERE edge_kind = 'probabilistic' "
        "AND evidence LIKE '%first_name: %' AND evidence LIKE '%address: postcode%'"
    )[0][0]
    decisions = dict(
        query(
            "SELECT decision, count(*) FILTER (WHERE (refusal IS NULL) = (decision = 'linked')) "
            "= count(*) FROM identity.identity_edges GROUP BY 1"
        )
    )
    assert decisions == {"linked": True, "refused": True}  # refusals always give a reason

    # A second run reuses the saved model rather than training again.
    assert run_pipeline(build_definitions(), landing).success
    assert _models(warehouse) == [(version, True)]

    # A second warehouse in the same folder trains its own model.
    other = tmp_path / "other.duckdb"
    monkeypatch.setenv("CDP_WAREHOUSE", str(other))
    assert run_pipeline(build_definitions(), landing).success
    assert len(_models(other)) == 1 and _models(warehouse) == [(version, True)]
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))

    # The weekly schedule's job trains again and re-links with the new model.
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("weekly_identity_model_retrain")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests or [None]
    result = defs.resolve_job_def(schedule.job_name).execute_in_process(
        run_config=request.run_config if request and request.run_config else None
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("identity_model")
    assert materialization.metadata["retrained"].value is True
    assert materialization.metadata["comparisons"].value > 0
    # Every level's parameters as a typed table the UI can sort: m, u and the
    # match weight of each, the weight log2(m / u).
    levels = materialization.metadata["match_weights"]
    columns = {c.name: c.type for c in levels.schema.columns}
    assert columns["match_weight"] == "float" and columns["m"] == "float"
    exact = next(r for r in metadata_rows(levels) if r["level"] == "date of birth equal")
    assert exact["comparison"] == "dob" and exact["match_weight"] > 5
    assert abs(exact["match_weight"] - math.log2(exact["m"] / exact["u"])) < 1e-2
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "blocking_comparisons_below_cap"
    ]
    assert check.passed
    assert result.asset_materializations_for_node("person_id_map")


# A couple at one address sharing an email and a landline; one of them again
# with her own email, which a nameless newsletter sign-up carries too.
COUPLE = """
9000001,Margaret,Smith,the.smiths.ls6@gmail.com,0113 496 0750,12 Quarry Lane,Leeds,LS6 2AB,GB,,,,,customer,subscribed,2026-08-01T09:00:00+01:00,2026-08-01T09:00:00+01:00
9000002,Oliver,Smith,the.smiths.ls6@gmail.com,0113 496 0750,12 Quarry Lane,Leeds,LS6 2AB,GB,,,,,customer,subscribed,2026-08-01T09:00:00+01:00,2026-08-01T09:00:00+01:00
9000003,Margaret,Smith,maggie.quarry@gmail.com,,12 Quarry Lane,Leeds,LS6 2AB,GB,,,,,customer,subscribed,2026-08-01T09:00:00+01:00,2026-08-01T09:00:00+01:00
9000004,,,maggie.quarry@gmail.com,,,,,GB,,,,,customer,subscribed,2026-08-01T09:00:00+01:00,2026-08-01T09:00:00+01:00
"""


def test_an_email_and_landline_shared_by_a_couple_do_not_make_them_one(demo_landing, tmp_path):
    """The trained model weighs an identifier shared by people whose first names
    differ as nothing (a household's), and one on a record without a first name
    as the identifier's agreement."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    day = landing / "crm_contacts" / "2026-08-01.csv"
    with day.open("a", encoding="utf-8") as handle:
        handle.write(COUPLE.lstrip())
    warehouse = tmp_path / "warehouse.duckdb"
    run_landing(landing, warehouse)

    with connect(warehouse) as conn:
        report = model_store.current(conn).report
        person = dict(
            conn.execute(
                "SELECT source_record_id, person_id FROM identity.person_id_map "
                "WHERE source = 'crm_contacts' AND source_record_id LIKE '900000_'"
            ).fetchall()
        )
    levels = {
        (comparison["comparison"], level["level"]): level
        for comparison in report["comparisons"]
        for level in comparison["levels"]
    }
    for column in ("email", "phone"):
        shared = levels[(column, f"{column} equal, first names differ")]
        assert shared["match_weight"] == 0 and shared["source"] == splink_model.HOUSEHOLD
        assert levels[(column, f"{column} equal, a first name missing")]["match_weight"] > 5
    assert person["9000001"] != person["9000002"]  # the couple
    assert person["9000004"] == person["9000003"]  # a nameless sign-up with her own email


def test_too_few_records_leave_links_deterministic(landing, instance, query):
    from cdp_platform_tests.sources.samples import record, write_day_file

    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    defs = build_definitions()
    assert (
        defs.resolve_job_def("ingest_sources")
        .execute_in_process(instance=instance, partition_key="2026-08-01")
        .success
    )
    result = defs.resolve_job_def("refresh_downstream").execute_in_process(instance=instance)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("identity_model")
    assert materialization.metadata["model_version"].value == "none"


def test_a_degenerate_training_names_its_problems(tmp_path):
    """Records carrying first names only: no comparison beside the name, no rule
    that gives EM pairs; the training report says so, and the asset's check fails."""
    import pyarrow as pa

    from cdp_platform.identity.assets import _model_check

    names = ["ann", "bob", "cara", "dan", "eve", "finn"]
    n = 1200
    records = pa.table(
        {
            "unique_id": [f"n:{i}" for i in range(n)],
            "first_name": [names[i % len(names)] for i in range(n)],
            "first_name_typed": [names[i % len(names)] for i in range(n)],
            **{
                column: pa.array([None] * n, pa.string())
                for column in (
                    "last_name",
                    "email",
                    "phone",
                    "phone_kind",
                    "postcode",
                    "city",
                    "street",
                    "dob",
                )
            },
        }
    )
    trained = splink_model.train(records, SplinkRuntime.beside(tmp_path / "w.duckdb"))
    assert trained.report["training_rules"] == []
    assert "no training rule produced pairs: EM never ran" in trained.problems
    assert any("only 1 comparison" in p for p in trained.problems)
    check = _model_check(trained.problems, trained.version)
    assert not check.passed and "EM never ran" in check.metadata["problems"].value


def test_the_model_is_retrained_when_the_evidence_shifts():
    profile = {"nodes": 10_000, "fill": {"first_name": 0.9, "email": 0.6, "dob": 0.0}}
    assert model_store.needs_retraining(profile, profile) is None
    grown = {**profile, "nodes": 25_000}
    assert model_store.needs_retraining(profile, grown) == "25,000 nodes, 10,000 when trained"
    with_dob = {**profile, "fill": {**profile["fill"], "dob": 0.4}}
    assert model_store.needs_retraining(profile, with_dob) == "dob appeared"
    labelled = {**profile, "labels": 3}
    assert model_store.needs_retraining(profile, labelled) == "3 review labels, 0 when trained"


def test_the_family_mixture_recovers_families_and_their_twins():
    """Pairs sharing a surname and a home: 300 of one person's records and 700
    of a family's members, 5 % of them twins sharing a birth date (strangers
    share one 0.1 % of the time). The mixture gives back both proportions; among
    one person's records alone, the twins' rate stays near strangers'."""
    rng = np.random.default_rng(4)
    # Levels: 0 different, 1 alike, 2 exact.
    first_m, first_u = np.array([0.1, 0.1, 0.8]), np.array([0.95, 0.04, 0.01])
    dob_m, dob_u = np.array([0.05, 0.25, 0.7]), np.array([0.9, 0.099, 0.001])
    twins = dob_u * 0.95 / dob_u[:2].sum()
    twins[2] = 0.05

    def draw(probabilities, count):
        return rng.choice(len(probabilities), count, p=probabilities / probabilities.sum())

    def comparisons(one_person: int, family: int):
        return [
            (
                "first_name",
                first_m,
                first_u,
                np.concatenate([draw(first_m, one_person), draw(first_u, family)]),
            ),
            ("dob", dob_m, dob_u, np.concatenate([draw(dob_m, one_person), draw(twins, family)])),
        ]

    share, agreement = splink_model.family_mixture(comparisons(300, 700))
    assert abs(share - 0.3) < 0.03
    assert abs(agreement["dob"] - 0.05) < 0.015
    share, agreement = splink_model.family_mixture(comparisons(1000, 0))
    assert share > 0.97 and agreement["dob"] < 0.005


def test_a_rare_name_shared_at_one_home_counts_as_much_as_families_leave_it():
    """Splink's name-frequency weights (log2): a name 32 times rarer than
    average, an average one, one 4 times commoner."""
    weights = np.array([5.0, 0.0, -2.0])
    # No families in the data: Splink's weighing stands.
    assert splink_model.family_frequency_factor(weights, 1.0).tolist() == [1.0, 1.0, 1.0]
    # Most people sharing a home and a surname are a family's members: the rare
    # name's bonus is nearly gone, the others are left as they are.
    rare, average, common = splink_model.family_frequency_factor(weights, 27.0)
    assert 1 / 32 < rare < 1.1 / 32 and average == common == 1.0
    # In between, in between.
    assert rare < splink_model.family_frequency_factor(weights, 3.0)[0] < 1.0


def test_the_prior_in_the_data_is_recovered_from_the_scored_pairs():
    """Scored pairs whose Bayes factors separate 2,000 matches from 20,000
    non-matches, among 10^8 pairs of which identifiers joined 3,000: the prior
    is found again from a trained prior ten times too low or too high, and the
    probabilities re-weighed with it."""
    import pyarrow as pa

    from cdp_platform.identity import probabilistic

    rng = np.random.default_rng(7)
    factors = np.concatenate([rng.lognormal(14, 2, 2_000), rng.lognormal(0, 2, 20_000)])
    pairs, joined = 1e8, 3_000
    truth = (joined + 2_000) / pairs
    for trained in (truth / 10, truth * 10):
        odds = factors * trained / (1 - trained)
        found = probabilistic.prior_in_data(odds / (1 + odds), trained, joined, pairs)
        assert abs(found - truth) / truth < 0.05
    too_high = truth * 10
    odds = factors * too_high / (1 - too_high)
    scored = pa.table({"match_probability": odds / (1 + odds)})
    reweighed = probabilistic.reweighed(scored, too_high, truth)["match_probability"].to_numpy()
    assert np.sum(reweighed > 0.5) < np.sum(odds > 1)
