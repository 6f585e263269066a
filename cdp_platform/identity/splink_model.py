"""The probabilistic matching model: Splink on DuckDB, trained, saved and reused.

Records go to Splink only if they carry something to match on (a name, an
email or a phone). Email and phone agreement are split by whether the
first names agree too: the same address typed by two household members is
weaker evidence than by one person. Splink's own connection is in memory,
configured like the warehouse (threads, memory limit, spill directory).

`CDP_ENGINE=spark` runs the same model on Splink's Spark backend
(`spark_engine.py`). A model's SQL is written in the dialect of the engine
that made it, so models are saved in DuckDB's dialect whichever engine trained
them, and rebuilt for the other engine when it predicts (`model_for_dialect`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.exceptions import EMTrainingException

from cdp_platform import settings

SEED = 20260801
# EM sees at most this many pairs per blocking rule: more adds time, not accuracy
# (a common name pairs tens of millions of records at a million records).
EM_MAX_PAIRS = 5e6
# Fewer records than this give EM too few pairs for credible parameters.
MIN_TRAINING_RECORDS = 1000
INPUT_SQL = """
SELECT source || ':' || source_record_id AS unique_id, first_name_canonical AS first_name,
       first_name AS first_name_typed, last_name, email_match AS email, phone, phone_kind, postcode, city,
       replace(street, ' ', '') AS street,  -- a space typed in the wrong place is common
       CAST(dob AS VARCHAR) AS dob
FROM staging.identity_records
WHERE first_name_canonical IS NOT NULL OR last_name IS NOT NULL
   OR email_match IS NOT NULL OR phone IS NOT NULL
"""
MODEL_DIR_NAME = "models/identity"
TRAINING_BLOCKS = (("email",), ("first_name", "last_name"), ("dob",), ("phone",), ("postcode",))
# Pairs Splink scores: each rule pairs records equal on its expressions. The
# name prefixes catch a typo further along a name.
PREDICTION_BLOCKS = (
    ("email",),
    ("phone",),
    ("first_name", "last_name", "city"),
    ("first_name", "last_name", "substr(dob, 1, 4)"),
    ("first_name", "last_name", "substr(dob, 6, 5)"),
    ("last_name", "dob"),
    ("postcode", "last_name"),
    ("dob", "substr(first_name, 1, 2)"),
    ("dob", "substr(last_name, 1, 2)"),
    ("postcode", "first_name"),
    ("postcode", "dob"),
    ("street",),
    ("city", "substr(first_name, 1, 2)", "substr(last_name, 1, 2)"),
    ("postcode", "substr(first_name, 1, 1)", "substr(last_name, 1, 1)"),
)
# First and last name typed into each other's boxes, compared as typed (a
# nickname in the last-name box has no canonical form).
SWAPPED_NAMES = "l.first_name_typed = r.last_name AND l.last_name = r.first_name_typed"
# The same with a typo in either name, for records born on the same day.
SWAPPED_PREFIXES_SAME_DOB = (
    "l.dob = r.dob"
    " AND substr(l.first_name_typed, 1, 2) = substr(r.last_name, 1, 2)"
    " AND substr(l.last_name, 1, 2) = substr(r.first_name_typed, 1, 2)"
)
# Comparison levels (Splink's _l/_r column suffixes); {jaro_winkler} is the
# engine's own function name (see EngineLevel).
SIMILAR_SWAPPED = (
    "{jaro_winkler}(first_name_typed_l, last_name_r) >= 0.88"
    " AND {jaro_winkler}(last_name_l, first_name_typed_r) >= 0.88"
)
# Models on disk are in this dialect, whichever engine trained them.
SAVED_DIALECT = "duckdb"
CROSSED_NAME = "first_name_typed_l = last_name_r OR last_name_l = first_name_typed_r"


def prediction_rules() -> list[tuple[str, object]]:
    """(label, Splink blocking rule) of every prediction rule."""
    rules = [(" and ".join(cols), block_on(*cols)) for cols in PREDICTION_BLOCKS]
    return [
        *rules,
        ("names swapped", CustomRule(SWAPPED_NAMES)),
        ("dob and swapped name prefixes", CustomRule(SWAPPED_PREFIXES_SAME_DOB)),
    ]


# Splink narrates every training step at INFO; the run log wants the outcome.
QUIET = logging.WARNING


class EngineLevel(cll.CustomLevel):
    """Custom SQL naming the engine's function: DuckDB's jaro_winkler_similarity,
    or on Spark the jaro_winkler UDF from Splink's jar (sqlglot knows no such
    translation)."""

    def create_sql(self, sql_dialect) -> str:
        return self.sql_condition.format(jaro_winkler=sql_dialect.jaro_winkler_function_name)


def _name_comparison(column: str) -> cl.CustomComparison:
    """Exact (term-frequency adjusted), swapped with the other name, or similar.

    One name alone in the other's box (the other name missing or different)
    is one agreement, so only the last-name comparison counts it."""
    crossed = (
        [cll.CustomLevel(CROSSED_NAME, label_for_charts="one name typed in the other's box")]
        if column == "last_name"
        else []
    )
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=True),
            cll.ColumnsReversedLevel("first_name_typed", "last_name", symmetrical=True).configure(
                label_for_charts="first and last name swapped"
            ),
            EngineLevel(SIMILAR_SWAPPED, label_for_charts="names swapped, with a typo"),
            *crossed,
            cll.JaroWinklerLevel(column, 0.95),
            cll.JaroWinklerLevel(column, 0.88),
            cll.ElseLevel(),
        ],
    )


def _dob_comparison() -> cl.CustomComparison:
    """Splink's date-of-birth levels, with a transposition counted as one typo."""
    date_levels = [
        cll.AbsoluteDateDifferenceLevel(
            "dob", input_is_string=True, threshold=threshold, metric=metric
        )
        for threshold, metric in ((1, "month"), (1, "year"), (10, "year"))
    ]
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob").configure(label_for_charts="date of birth equal"),
            cll.DamerauLevenshteinLevel("dob", 1).configure(
                label_for_charts="one digit mistyped or two swapped"
            ),
            *date_levels,
            cll.ElseLevel(),
        ],
    )


def _email_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.And(cll.ExactMatchLevel("email"), cll.ExactMatchLevel("first_name")).configure(
                label_for_charts="email and first name equal"
            ),
            cll.ExactMatchLevel("email").configure(
                label_for_charts="email equal, first names differ or missing"
            ),
            cll.ElseLevel(),
        ],
    )


def _phone_comparison() -> cl.CustomComparison:
    """A mobile is personal: two different mobiles is evidence of two people."""
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.And(cll.ExactMatchLevel("phone"), cll.ExactMatchLevel("first_name")).configure(
                label_for_charts="phone and first name equal"
            ),
            cll.ExactMatchLevel("phone").configure(
                label_for_charts="phone equal, first names differ or missing"
            ),
            cll.CustomLevel(
                "phone_kind_l = 'mobile' AND phone_kind_r = 'mobile'",
                label_for_charts="two different mobile numbers",
            ),
            cll.ElseLevel(),
        ],
    )


def _address_comparison() -> cl.CustomComparison:
    """Street and postcode as one address: a household shares both, so they are not
    two independent pieces of evidence."""
    missing = "(({c}_l IS NULL AND {c2}_l IS NULL) OR ({c}_r IS NULL AND {c2}_r IS NULL))"
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel(
                missing.format(c="postcode", c2="street"), label_for_charts="address missing"
            ).configure(is_null_level=True),
            cll.And(cll.ExactMatchLevel("postcode"), cll.ExactMatchLevel("street")).configure(
                label_for_charts="postcode and street equal"
            ),
            cll.ExactMatchLevel("street").configure(label_for_charts="street equal"),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="postcode equal"),
            cll.JaroWinklerLevel("street", 0.9).configure(label_for_charts="street similar"),
            cll.DamerauLevenshteinLevel("postcode", 1).configure(
                label_for_charts="postcode one typo"
            ),
            cll.ExactMatchLevel("city").configure(label_for_charts="same town only"),
            cll.ElseLevel(),
        ],
    )


def model_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name_comparison("first_name"),
            _name_comparison("last_name"),
            _dob_comparison(),
            _email_comparison(),
            _phone_comparison(),
            _address_comparison(),
        ],
        blocking_rules_to_generate_predictions=[rule for _, rule in prediction_rules()],
        retain_intermediate_calculation_columns=False,
    )


def splink_connection(warehouse: Path) -> duckdb.DuckDBPyConnection:
    spill = warehouse.resolve().parent / ".tmp" / "splink"
    spill.mkdir(parents=True, exist_ok=True)  # DuckDB creates one level only
    return duckdb.connect(
        config={
            "threads": settings.duckdb_threads(),
            "memory_limit": settings.duckdb_memory_limit(),
            "temp_directory": str(spill),
        }
    )


@contextmanager
def _splink_api(warehouse: Path) -> Iterator:
    """Splink's database API on the engine `CDP_ENGINE` names."""
    if settings.engine() == "spark":
        from cdp_platform.identity import spark_engine  # pyspark is an optional extra

        with spark_engine.splink_api(warehouse) as api:
            yield api
        return
    con = splink_connection(warehouse)
    try:
        yield DuckDBAPI(connection=con)
    finally:
        con.close()


def _register(api, records: pa.Table):
    if isinstance(api, DuckDBAPI):
        return api.register(records)
    from cdp_platform.identity import spark_engine

    return api.register(spark_engine.to_spark(api.spark, records))


def _scored_pairs(api, scored) -> pa.Table:
    """ids, match_probability and the gamma levels of Splink's predictions, as Arrow."""
    if isinstance(api, DuckDBAPI):
        return api.duckdb_con.execute(
            "SELECT unique_id_l, unique_id_r, match_probability, COLUMNS('^gamma_') "
            f"FROM {scored.physical_name}"
        ).to_arrow_table()
    from cdp_platform.identity import spark_engine

    frame = scored.as_spark_dataframe()
    gammas = [c for c in frame.columns if c.startswith("gamma_")]
    return spark_engine.to_arrow(
        frame.select("unique_id_l", "unique_id_r", "match_probability", *gammas)
    )


def model_for_dialect(model: dict, dialect: str) -> dict:
    """The trained model with its SQL written for `dialect` ("duckdb" or "spark").

    Date formats, function names and quoting differ by engine, so a model does
    not run on the other engine as saved. Its comparisons and blocking rules are
    built again from this code for the target, the trained m and u values carried
    over level by level; the prior and every other setting are kept."""
    if model.get("sql_dialect") == dialect:
        return model
    target = model_settings().create_settings_dict(dialect)

    def shape(settings_dict: dict) -> list:
        return [
            (c["output_column_name"], [lv["label_for_charts"] for lv in c["comparison_levels"]])
            for c in settings_dict["comparisons"]
        ]

    if shape(model) != shape(target):
        raise ValueError(
            "the saved model's comparisons differ from the code's; train it again "
            "(identity_model with retrain: true)"
        )
    for trained, built in zip(model["comparisons"], target["comparisons"], strict=True):
        for level, new in zip(
            trained["comparison_levels"], built["comparison_levels"], strict=True
        ):
            new.update({k: level[k] for k in ("m_probability", "u_probability") if k in level})
    return {
        **model,
        "comparisons": target["comparisons"],
        "blocking_rules_to_generate_predictions": target["blocking_rules_to_generate_predictions"],
        "sql_dialect": dialect,
    }


def read_input(conn: duckdb.DuckDBPyConnection) -> pa.Table:
    return conn.execute(INPUT_SQL).to_arrow_table()


@dataclass
class TrainedModel:
    model: dict
    version: str
    records: int


def model_version(model: dict) -> str:
    """A content hash: the same parameters always carry the same version."""
    text = json.dumps(model, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _prior(linker: Linker) -> float:
    return linker._settings_obj.core_model_settings.probability_two_random_records_match


def _set_prior(linker: Linker, value: float) -> None:
    linker._settings_obj.core_model_settings.probability_two_random_records_match = value


def train(records: pa.Table, warehouse: Path, charts_dir: Path | None = None) -> TrainedModel:
    """u by random sampling, then EM over several blocking rules; seeded."""
    with _splink_api(warehouse) as api:
        linker = Linker(_register(api, records), model_settings(), log_level=QUIET)
        # Rules that almost only pair one person's records; whichever fields a
        # data set lacks (FEBRL has no emails) simply contribute no pairs.
        linker.training.estimate_probability_two_random_records_match(
            [
                block_on("email", "first_name"),
                block_on("phone", "first_name"),
                block_on("first_name", "last_name", "dob"),
                block_on("first_name", "last_name", "postcode"),
            ],
            recall=0.6,
        )
        prior = _prior(linker)
        # u from every sampled pair in one pass: the chunked default stops early
        # once each level is seen often enough, and which pairs it has seen by then
        # depends on the engine's hash function (DuckDB and Spark would differ).
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED, num_chunks=1)
        for cols in TRAINING_BLOCKS:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*cols), max_pairs=EM_MAX_PAIRS
                )
            except EMTrainingException:
                continue  # no pairs under this rule in this data; the other rules still train
            except ValueError as exc:
                # On a small set EM can drive a level's m to exactly 0, which
                # Splink refuses to store; the session then applies nothing (it
                # trains on a copy) and the other rules still train.
                if "below the minimum allowed" not in str(exc):
                    raise
                continue
        # An EM session can leave behind the prior it adjusted for its own
        # blocking rule (far higher: blocked pairs are mostly matches; 35 times
        # the true rate on FEBRL3). The prior from the near-certain rules above
        # is the one that applies to all pairs.
        _set_prior(linker, prior)

        model = model_for_dialect(linker.misc.save_model_to_json(), SAVED_DIALECT)
        if charts_dir is not None:
            charts_dir.mkdir(parents=True, exist_ok=True)
            linker.visualisations.match_weights_chart().save(str(charts_dir / "match_weights.html"))
            linker.visualisations.m_u_parameters_chart().save(
                str(charts_dir / "m_u_parameters.html")
            )
        return TrainedModel(model, model_version(model), records.num_rows)


def predict(records: pa.Table, model: dict, warehouse: Path, threshold: float) -> pa.Table:
    """Scored pairs at or above `threshold`: ids, match_probability and the gamma levels."""
    with _splink_api(warehouse) as api:
        model = model_for_dialect(model, api.sql_dialect.sql_dialect_str)
        linker = Linker(_register(api, records), model, log_level=QUIET)
        scored = linker.inference.predict(threshold_match_probability=threshold)
        return _scored_pairs(api, scored)


def model_dir(warehouse: Path) -> Path:
    """Saved models live beside the warehouse they were trained on."""
    return warehouse.resolve().parent / MODEL_DIR_NAME


def save(trained: TrainedModel, warehouse: Path) -> Path:
    folder = model_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"model_{trained.version}.json"
    path.write_text(json.dumps(trained.model, indent=1, default=str))
    (folder / "latest.json").write_text(json.dumps({"version": trained.version, "path": path.name}))
    return path


def load_latest(warehouse: Path) -> tuple[str, dict] | None:
    """(version, model) of the model prediction uses, or None before the first training."""
    pointer = model_dir(warehouse) / "latest.json"
    if not pointer.exists():
        return None
    latest = json.loads(pointer.read_text())
    return latest["version"], json.loads((model_dir(warehouse) / latest["path"]).read_text())


def blocking_counts(records: pa.Table, warehouse: Path) -> list[dict]:
    """Exact pairs each prediction blocking rule adds (marginal) and in total (cumulative)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    with _splink_api(warehouse) as api:
        table = _register(api, records)
        counted = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=[rule for _, rule in prediction_rules()],
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        return [
            {
                "rule": label,
                "marginal": int(c["marginal_comparison_count"]),
                "cumulative": int(c["cumulative_comparison_count"]),
            }
            for (label, _), c in zip(prediction_rules(), counted, strict=True)
        ]
