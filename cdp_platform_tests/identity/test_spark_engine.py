"""The identity layer on Spark (local mode) finds the same persons as on DuckDB,
and a model saved by either engine scores the same on the other.

The engines' Jaro-Winkler functions differ slightly (DuckDB rounds the count
of transpositions down to a whole number, Splink's Scala UDF keeps the half:
"daniel" and "diane" score 0.89 and 0.86), so a few pairs of names can fall on
neighbouring levels; none of the pairs blocked in this set does.
"""

from __future__ import annotations

import math
import shutil
from datetime import date

import dagster as dg
import pytest

from cdp_platform import settings
from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.identity import model_store, spark_engine, splink_model
from cdp_platform.identity.assets import identity_edges, identity_model, person_id_map
from cdp_platform.identity.assets import identity_records as identity_records_asset
from cdp_platform.identity.clusters import MAP_TABLE
from cdp_platform.identity.model_store import default_model_store
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.pipeline import landing_range
from cdp_platform.resources.configuration import default_platform_config
from cdp_platform.resources.warehouse import WarehouseResource, connect

# 500 persons over 10 days give about 1,150 matchable records: enough to train
# (MIN_TRAINING_RECORDS), and few enough that u sampling takes every record, so
# both engines see exactly the same pairs.
PERSONS, DAYS = 500, 10
# Small data: few shuffle partitions, and no whole-stage code generation (EM
# sends a new query every iteration, and compiling each costs more than it saves).
SPARK_ENV = {
    "CDP_ENGINE": "spark",
    "CDP_SPARK_MASTER": "local[2]",
    "CDP_SPARK_CONF": "spark.sql.shuffle.partitions=4,spark.ui.enabled=false,"
    "spark.ui.showConsoleProgress=false,spark.sql.codegen.wholeStage=false",
}
IDENTITY = [identity_model, identity_edges, person_id_map]
RETRAIN = {"ops": {"identity_model": {"config": {"retrain": True}}}}


def _saved(warehouse):
    """(version, model) of the model a warehouse predicts with."""
    with connect(warehouse) as conn:
        stored = model_store.current(conn)
    return stored.version, stored.model


@pytest.fixture(scope="module")
def records_warehouse(tmp_path_factory):
    """A warehouse holding the demo set's sources and identity records."""
    out = tmp_path_factory.mktemp("spark-demo")
    generate(out, persons=PERSONS, days=DAYS, start=date(2026, 8, 1), seed=9)
    warehouse = out / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CDP_LANDING_DIR", str(out / "landing"))
        env.setenv("CDP_WAREHOUSE", str(warehouse))
        env.setenv("CDP_START_DATE", "2026-08-01")
        env.delenv("DAGSTER_HOME", raising=False)
        first, last = landing_range(out / "landing")
        ingest = build_definitions().resolve_job_def("ingest_sources")
        tags = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
        assert ingest.execute_in_process(tags=tags).success
        resources = {
            "warehouse": WarehouseResource(database=str(warehouse)),
            "platform_config": default_platform_config(),
            "model_store": default_model_store(warehouse),
        }
        assert dg.materialize([identity_records_asset], resources=resources).success
    return warehouse


def _run_identity(records_warehouse, folder, env: dict[str, str]):
    """identity_model (retrained), identity_edges and person_id_map on a copy of
    the warehouse; returns the copy's path and the run's result."""
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(records_warehouse, warehouse)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDP_WAREHOUSE", str(warehouse))
        for key, value in env.items():
            patch.setenv(key, value)
        result = dg.materialize(
            IDENTITY,
            resources={
                "warehouse": WarehouseResource(database=str(warehouse)),
                "platform_config": default_platform_config(),
                "model_store": default_model_store(warehouse),
            },
            run_config=RETRAIN,
        )
    assert result.success
    return warehouse, result


@pytest.fixture(scope="module")
def duckdb_run(records_warehouse):
    return _run_identity(records_warehouse, records_warehouse.parent / "on-duckdb", {})


@pytest.fixture(scope="module")
def spark_run(records_warehouse):
    yield _run_identity(records_warehouse, records_warehouse.parent / "on-spark", SPARK_ENV)
    spark_engine.stop()


def _persons(warehouse) -> set[frozenset[str]]:
    """The partition of records into persons, whatever the ids are called."""
    with connect(warehouse) as conn:
        rows = conn.execute(
            f"SELECT list(source || ':' || source_record_id) FROM {MAP_TABLE} GROUP BY person_id"
        ).fetchall()
    return {frozenset(records) for (records,) in rows}


def _metadata(result, asset: str) -> dict:
    (materialization,) = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialization.metadata.items()}


def test_spark_finds_the_same_persons_as_duckdb(duckdb_run, spark_run):
    (duck_warehouse, duck_result), (spark_warehouse, spark_result) = duckdb_run, spark_run
    assert _metadata(duck_result, "identity_model")["engine"] == "duckdb"
    spark_model = _metadata(spark_result, "identity_model")
    assert spark_model["engine"] == "spark" and spark_model["retrained"] is True
    assert _metadata(spark_result, "identity_edges")["engine"] == "spark"
    # Blocking counts are exact on both engines.
    assert spark_model["comparisons"] == _metadata(duck_result, "identity_model")["comparisons"]

    # Trained on the same pairs, the two models agree closely: the name pairs
    # the engines' Jaro-Winkler scores differently (most near the loosest
    # similarity level) move u of those levels by up to a tenth of a point.
    (_, duck_model), (_, spark_saved) = (
        _saved(duck_warehouse),
        _saved(spark_warehouse),
    )
    assert spark_saved["sql_dialect"] == "duckdb"  # one format on disk, whichever engine
    assert spark_saved["probability_two_random_records_match"] == pytest.approx(
        duck_model["probability_two_random_records_match"], rel=1e-6
    )
    for duck_c, spark_c in zip(duck_model["comparisons"], spark_saved["comparisons"], strict=True):
        for duck_l, spark_l in zip(
            duck_c["comparison_levels"], spark_c["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                where = (duck_c["output_column_name"], duck_l["label_for_charts"], key)
                if duck_l.get(key) is None:  # a level neither engine observed
                    assert spark_l.get(key) is None, where
                else:
                    assert spark_l[key] == pytest.approx(duck_l[key], abs=1e-3), where

    persons = _persons(duck_warehouse)
    assert len(persons) < sum(len(p) for p in persons)  # some records were linked
    # Jaro-Winkler differs in the last digits between the engines, so a pair
    # on the edge of a decision may fall either way: nearly every person agrees.
    differing = persons ^ _persons(spark_warehouse)
    records = sum(len(p) for p in persons)
    assert sum(len(p) for p in differing) <= 0.01 * records, differing


def _scores(pairs) -> dict[tuple[str, str], tuple]:
    """(record, record) -> (match probability, match weight, gamma levels)."""
    gammas = [c for c in pairs.column_names if c.startswith("gamma_")]
    scores = {}
    for row in pairs.to_pylist():
        p = row["match_probability"]
        weight = math.log2(p) - math.log2(1 - p) if 0 < p < 1 else math.copysign(math.inf, p - 0.5)
        scores[row["unique_id_l"], row["unique_id_r"]] = (p, weight, [row[g] for g in gammas])
    return scores


def test_a_model_saved_on_duckdb_scores_the_same_on_spark(duckdb_run, spark_run, monkeypatch):
    warehouse, _ = duckdb_run
    _, model = _saved(warehouse)
    with connect(warehouse) as conn:
        records = splink_model.read_input(conn)
    # Threshold 0: every blocked pair, whatever its score.
    on_duckdb = splink_model.predict(records, model, SplinkRuntime.beside(warehouse), threshold=0.0)
    for key, value in SPARK_ENV.items():
        monkeypatch.setenv(key, value)
    on_spark = splink_model.predict(records, model, SplinkRuntime.beside(warehouse), threshold=0.0)

    assert on_spark.schema.names == on_duckdb.schema.names
    assert on_spark.schema.types == on_duckdb.schema.types
    duck, spark = _scores(on_duckdb), _scores(on_spark)
    assert spark.keys() == duck.keys() and len(duck) > 1000
    for pair, (p, weight, gammas) in duck.items():
        assert spark[pair][2] == gammas, pair  # every comparison lands on the same level
        assert spark[pair][0] == pytest.approx(p, abs=1e-12), pair
        # Weights near certainty come back through a probability: 1e-3 of a bit.
        assert spark[pair][1] == pytest.approx(weight, abs=1e-3), pair


def test_model_sql_is_rewritten_for_the_other_engine_and_back(duckdb_run):
    _, model = _saved(duckdb_run[0])
    on_spark = splink_model.model_for_dialect(model, "spark")
    sql = " ".join(
        level["sql_condition"]
        for comparison in on_spark["comparisons"]
        for level in comparison["comparison_levels"]
    )
    assert "jaro_winkler(" in sql and "yyyy-MM-dd" in sql
    assert "jaro_winkler_similarity" not in sql and "%Y" not in sql
    assert (
        on_spark["probability_two_random_records_match"]
        == (model["probability_two_random_records_match"])
    )
    assert splink_model.model_for_dialect(on_spark, "duckdb")["comparisons"] == model["comparisons"]


def test_a_model_from_other_comparisons_is_refused(duckdb_run):
    _, model = _saved(duckdb_run[0])
    model["comparisons"] = model["comparisons"][:-1]
    with pytest.raises(ValueError, match="train it again"):
        splink_model.model_for_dialect(model, "spark")


def test_engine_settings_from_the_environment(monkeypatch):
    monkeypatch.delenv("CDP_ENGINE", raising=False)
    assert settings.engine() == "duckdb"
    monkeypatch.setenv("CDP_ENGINE", "Flink")
    with pytest.raises(ValueError, match="CDP_ENGINE must be one of duckdb, spark"):
        settings.engine()
    monkeypatch.setenv("CDP_SPARK_CONF", "spark.executor.memory=4g, spark.sql.shuffle.partitions=8")
    assert settings.spark_conf() == {
        "spark.executor.memory": "4g",
        "spark.sql.shuffle.partitions": "8",
    }
    monkeypatch.setenv("CDP_SPARK_CONF", "spark.executor.memory")
    with pytest.raises(ValueError, match="key=value"):
        settings.spark_conf()
