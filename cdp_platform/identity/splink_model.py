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
import math
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
# Pairs sampled at random to estimate u: enough to see rare levels, bounded time.
U_MAX_PAIRS = 5e6
# Fewer records than this give EM too few pairs for credible parameters.
MIN_TRAINING_RECORDS = 1000
# A field filled on fewer nodes than this is not evidence the model can learn.
MIN_FILL = 0.01
# The fields the model can compare, as Splink sees them (see INPUT_SQL).
FIELDS = ("first_name", "last_name", "dob", "email", "phone", "postcode", "street", "city")
# Saved beside Splink's settings in the model JSON (Splink itself does not read it).
FIELDS_KEY = "cdp_fields"
INPUT_SQL = """
SELECT node_id AS unique_id, first_name_canonical AS first_name,
       first_name AS first_name_typed, last_name, email_match AS email, phone, phone_kind,
       postcode, city,
       replace(street, ' ', '') AS street,  -- a space typed in the wrong place is common
       CAST(dob AS VARCHAR) AS dob
FROM staging.identity_nodes
WHERE first_name_canonical IS NOT NULL OR last_name IS NOT NULL
   OR email_match IS NOT NULL OR phone IS NOT NULL
"""
# Candidate EM training rules, most trusted first (see `training_rules`).
TRAINING_BLOCKS = (
    ("email",),
    ("first_name", "last_name"),
    ("dob",),
    ("phone",),
    ("postcode",),
    ("street",),
)
# Rules that almost only pair one person's records: the prior's estimate.
PRIOR_BLOCKS = (
    ("email", "first_name"),
    ("phone", "first_name"),
    ("first_name", "last_name", "dob"),
    ("first_name", "last_name", "postcode"),
    ("first_name", "last_name", "street"),
)
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
SWAPPED_LABEL = "first and last name swapped"
SWAPPED_TYPO_LABEL = "names swapped, with a typo"
CROSSED_NAME = "first_name_typed_l = last_name_r OR last_name_l = first_name_typed_r"


def _column(expression: str) -> str:
    """The field a blocking expression reads: `substr(dob, 1, 4)` -> `dob`."""
    return expression.split("(", 1)[-1].split(",", 1)[0].strip()


def _uses(columns: tuple[str, ...], fields: set[str]) -> bool:
    return all(_column(c) in fields for c in columns)


def _sql_side(expression: str, side: str) -> str:
    column = _column(expression)
    return expression.replace(column, f"{side}.{column}", 1)


def _rule_sql(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{_sql_side(c, 'l')} = {_sql_side(c, 'r')}" for c in columns)


def _comparison_columns(fields: set[str]) -> dict[str, set[str]]:
    """Each comparison the fields give, with every column its levels read (Splink
    does not train a comparison on pairs blocked on any of them)."""
    names = {"first_name", "last_name"} & fields if {"first_name", "last_name"} <= fields else set()
    columns = {
        "first_name": {"first_name"} | names,
        "last_name": {"last_name"} | names,
        "dob": {"dob"},
        "email": {"email"} | ({"first_name"} & fields),
        "phone": {"phone"} | ({"first_name"} & fields),
    }
    found = {name: cols for name, cols in columns.items() if name in fields}
    if fields & {"postcode", "street", "city"}:
        found["address"] = {"postcode", "street", "city"}
    return found


def training_rules(fields: set[str]) -> list[tuple[str, ...]]:
    """EM rules, most trusted first, until each comparison is trained.

    An EM session trains every comparison but those its rule blocks on. Rules
    on an address pair a household's members, whom EM would learn to call one
    person (first names would stop counting), so they come last and are used
    only when no other rule can train the names."""
    comparisons = _comparison_columns(fields)
    needed = dict.fromkeys(comparisons, 1)
    chosen = []
    for cols in TRAINING_BLOCKS:
        if not _uses(cols, fields):
            continue
        blocked = {_column(c) for c in cols}
        trains = [c for c in needed if needed[c] > 0 and not comparisons[c] & blocked]
        if trains:
            chosen.append(cols)
            for c in trains:
                needed[c] -= 1
    return chosen


def prediction_rules(fields: set[str], apart: str | None = None) -> list[tuple[str, str]]:
    """(label, SQL) of every prediction rule the fields present can use.

    `apart` names a column whose equal values mark pairs already decided (one
    person by a strong identifier): those pairs are not generated again."""
    rules = [
        (" and ".join(cols), _rule_sql(cols)) for cols in PREDICTION_BLOCKS if _uses(cols, fields)
    ]
    if {"first_name", "last_name"} <= fields:
        rules.append(("names swapped", SWAPPED_NAMES))
        if "dob" in fields:
            rules.append(("dob and swapped name prefixes", SWAPPED_PREFIXES_SAME_DOB))
    if apart:
        rules = [
            (label, f"({sql}) AND (l.{apart} IS NULL OR l.{apart} <> r.{apart})")
            for label, sql in rules
        ]
    return rules


# Splink narrates every training step at INFO; the run log wants the outcome.
QUIET = logging.WARNING


class EngineLevel(cll.CustomLevel):
    """Custom SQL naming the engine's function: DuckDB's jaro_winkler_similarity,
    or on Spark the jaro_winkler UDF from Splink's jar (sqlglot knows no such
    translation)."""

    def create_sql(self, sql_dialect) -> str:
        return self.sql_condition.format(jaro_winkler=sql_dialect.jaro_winkler_function_name)


def _name_comparison(column: str, both_names: bool) -> cl.CustomComparison:
    """Exact (term-frequency adjusted), swapped with the other name, or similar.

    One name alone in the other's box (the other name missing or different)
    is one agreement, so only the last-name comparison counts it."""
    swapped = (
        [
            cll.ColumnsReversedLevel("first_name_typed", "last_name", symmetrical=True).configure(
                label_for_charts=SWAPPED_LABEL
            ),
            EngineLevel(SIMILAR_SWAPPED, label_for_charts=SWAPPED_TYPO_LABEL),
        ]
        if both_names
        else []
    )
    crossed = (
        [cll.CustomLevel(CROSSED_NAME, label_for_charts="one name typed in the other's box")]
        if column == "last_name" and both_names
        else []
    )
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=True),
            *swapped,
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
    swapped = "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)"
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob").configure(label_for_charts="date of birth equal"),
            cll.DamerauLevenshteinLevel("dob", 1).configure(
                label_for_charts="one digit mistyped or two swapped"
            ),
            cll.CustomLevel(swapped, label_for_charts="day and month swapped"),
            *date_levels,
            cll.ElseLevel(),
        ],
    )


def _identifier_comparison(column: str, with_first_name: bool) -> cl.CustomComparison:
    """Exact agreement, split by whether the first names agree too: one address
    or number typed by two household members is weaker evidence than by one."""
    split = (
        [
            cll.And(cll.ExactMatchLevel(column), cll.ExactMatchLevel("first_name")).configure(
                label_for_charts=f"{column} and first name equal"
            )
        ]
        if with_first_name
        else []
    )
    # A mobile is personal: two different mobiles is evidence of two people.
    mobiles = (
        [
            cll.CustomLevel(
                "phone_kind_l = 'mobile' AND phone_kind_r = 'mobile'",
                label_for_charts="two different mobile numbers",
            )
        ]
        if column == "phone"
        else []
    )
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            *split,
            cll.ExactMatchLevel(column).configure(
                label_for_charts=f"{column} equal, first names differ or missing"
                if with_first_name
                else f"{column} equal"
            ),
            *mobiles,
            cll.ElseLevel(),
        ],
    )


def _address_comparison(fields: set[str]) -> cl.CustomComparison:
    """Street, postcode and town as one address: a household shares them all, so
    they are not independent pieces of evidence."""
    parts = [c for c in ("postcode", "street", "city") if c in fields]
    missing = " OR ".join(
        "(" + " AND ".join(f"{c}_{side} IS NULL" for c in parts) + ")" for side in ("l", "r")
    )
    levels = [
        cll.CustomLevel(missing, label_for_charts="address missing").configure(is_null_level=True)
    ]
    if {"postcode", "street"} <= fields:
        levels.append(
            cll.And(cll.ExactMatchLevel("postcode"), cll.ExactMatchLevel("street")).configure(
                label_for_charts="postcode and street equal"
            )
        )
    if "street" in fields:
        levels.append(cll.ExactMatchLevel("street").configure(label_for_charts="street equal"))
    if "postcode" in fields:
        levels.append(cll.ExactMatchLevel("postcode").configure(label_for_charts="postcode equal"))
    if "street" in fields:
        levels.append(
            cll.JaroWinklerLevel("street", 0.9).configure(label_for_charts="street similar")
        )
    if "postcode" in fields:
        levels.append(
            cll.DamerauLevenshteinLevel("postcode", 1).configure(
                label_for_charts="postcode one typo"
            )
        )
    if "city" in fields:
        levels.append(cll.ExactMatchLevel("city").configure(label_for_charts="same town only"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(output_column_name="address", comparison_levels=levels)


def present_fields(profile: dict) -> set[str]:
    """The fields filled on enough nodes to be evidence."""
    return {f for f, share in profile["fill"].items() if share >= MIN_FILL}


def model_settings(fields: set[str]) -> SettingsCreator:
    """Comparisons for the fields the data carries, and nothing it lacks: a level
    no pair can reach keeps an untrained m and says nothing true."""
    both_names = {"first_name", "last_name"} <= fields
    comparisons = [
        _name_comparison(column, both_names)
        for column in ("first_name", "last_name")
        if column in fields
    ]
    if "dob" in fields:
        comparisons.append(_dob_comparison())
    for column in ("email", "phone"):
        if column in fields:
            comparisons.append(_identifier_comparison(column, "first_name" in fields))
    if fields & {"postcode", "street", "city"}:
        comparisons.append(_address_comparison(fields))
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            CustomRule(sql) for _, sql in prediction_rules(fields)
        ],
        retain_intermediate_calculation_columns=False,
    )


def model_fields(model: dict) -> set[str]:
    """The fields a saved model was built for."""
    return set(model.get(FIELDS_KEY) or FIELDS)


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
    target = model_settings(model_fields(model)).create_settings_dict(dialect)

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


def read_input(conn: duckdb.DuckDBPyConnection, extra: str = "") -> pa.Table:
    """The nodes Splink compares; `extra` is a SQL join adding columns (aliased `x`)."""
    if not extra:
        return conn.execute(INPUT_SQL).to_arrow_table()
    return conn.execute(
        f"SELECT i.*, x.* EXCLUDE (node_id) FROM ({INPUT_SQL}) i {extra}"
    ).to_arrow_table()


def evidence_profile(records: pa.Table) -> dict:
    """What the model sees: how many nodes, and the share of them carrying each field."""
    count = records.num_rows
    fill = {f: round((count - records[f].null_count) / count, 4) if count else 0.0 for f in FIELDS}
    return {"nodes": count, "fill": fill}


@dataclass
class TrainedModel:
    model: dict
    version: str
    records: int
    profile: dict
    report: dict

    @property
    def problems(self) -> list[str]:
        return self.report["problems"]


def model_version(model: dict) -> str:
    """A content hash: the same parameters always carry the same version."""
    text = json.dumps(model, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _prior(linker: Linker) -> float:
    return linker._settings_obj.core_model_settings.probability_two_random_records_match


def _set_prior(linker: Linker, value: float) -> None:
    linker._settings_obj.core_model_settings.probability_two_random_records_match = value


# Disagreement levels EM cannot learn: a household's members (one surname, one
# address) and a junior and a senior look to it like one person with a
# mistyped name or birth date, so it would learn that one person's records
# often carry wholly different first names or birth dates. They rarely do once
# nicknames, initials, typos, swaps and missing values have levels of their
# own: these levels' m is fixed, not trained.
FIXED_M = {("first_name", "All other comparisons"): 1e-3, ("dob", "All other comparisons"): 1e-3}
# Names swapped between the boxes show in both name comparisons; the evidence
# is counted once, in first_name: the last-name level weighs nothing.
NEUTRAL = {("last_name", SWAPPED_LABEL), ("last_name", SWAPPED_TYPO_LABEL)}


def _fix_unobserved(linker: Linker) -> list[dict]:
    """Every level the model uses, trained or deliberately fixed, with its parameters.

    A level EM never saw keeps m = u: it weighs nothing either way rather than
    a default that means nothing. A level the random sample never reached is
    rarer than one pair in the sample: u is set to that bound."""
    report = []
    for comparison in linker._settings_obj.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            source = "trained"
            if not level._has_estimated_u_values:
                level.u_probability = 1 / U_MAX_PAIRS
                source = "u fixed: never seen in the random sample"
            key = (comparison.output_column_name, level.label_for_charts)
            fixed = FIXED_M.get(key)
            if key in NEUTRAL:
                level.m_probability = level.u_probability
                source = "m fixed to u: counted once, in first_name"
            elif fixed is not None:
                level.m_probability = fixed
                source = "m fixed: households would teach EM otherwise"
            elif not level._has_estimated_m_values:
                level.m_probability = level.u_probability
                source = "m fixed to u (no weight): never seen in training"
            m, u = level.m_probability, level.u_probability
            levels.append(
                {
                    "level": level.label_for_charts,
                    "m": m,
                    "u": u,
                    "match_weight": round(math.log2(m / u), 3) if m and u else None,
                    "source": source,
                }
            )
        report.append({"comparison": comparison.output_column_name, "levels": levels})
    return report


def _problems(report: list[dict], trained_rules: list[str], fields: set[str]) -> list[str]:
    """Why a training run is not a model to trust, if it is not."""
    problems = []
    if not trained_rules:
        problems.append("no training rule produced pairs: EM never ran")
    if len(report) < 2:
        problems.append(
            f"only {len(report)} comparison(s) from the fields present ({', '.join(sorted(fields)) or 'none'})"
        )
    for comparison in report:
        trained = [lv for lv in comparison["levels"][:-1] if lv["source"] == "trained"]
        if not any((lv["match_weight"] or 0) > 0 for lv in trained):
            problems.append(
                f"{comparison['comparison']}: no agreement level was trained, so agreement "
                "on it counts for nothing"
            )
    return problems


def train(records: pa.Table, warehouse: Path, charts_dir: Path | None = None) -> TrainedModel:
    """Comparisons, prior and EM rules chosen from the fields present; u by random
    sampling, then EM over every rule the data can feed; seeded."""
    profile = evidence_profile(records)
    fields = present_fields(profile)
    with _splink_api(warehouse) as api:
        linker = Linker(_register(api, records), model_settings(fields), log_level=QUIET)
        prior_rules = [block_on(*cols) for cols in PRIOR_BLOCKS if _uses(cols, fields)]
        if prior_rules:  # else Splink's default prior stands, and the report says so
            linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.6)
        prior = _prior(linker)
        # u from every sampled pair in one pass: the chunked default stops early
        # once each level is seen often enough, and which pairs it has seen by then
        # depends on the engine's hash function (DuckDB and Spark would differ).
        linker.training.estimate_u_using_random_sampling(
            max_pairs=U_MAX_PAIRS, seed=SEED, num_chunks=1
        )
        trained_rules, skipped = [], {}
        for cols in training_rules(fields):
            label = " and ".join(cols)
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*cols), max_pairs=EM_MAX_PAIRS
                )
                trained_rules.append(label)
            except EMTrainingException as exc:
                skipped[label] = str(exc).splitlines()[0]
            except ValueError as exc:
                # On a small set EM can drive a level's m to exactly 0, which
                # Splink refuses to store; the session then applies nothing (it
                # trains on a copy) and the other rules still train.
                if "below the minimum allowed" not in str(exc):
                    raise
                skipped[label] = "a level's m fell to 0"
        # An EM session can leave behind the prior it adjusted for its own
        # blocking rule (far higher: blocked pairs are mostly matches; 35 times
        # the true rate on FEBRL3). The prior from the near-certain rules above
        # is the one that applies to all pairs.
        _set_prior(linker, prior)
        levels = _fix_unobserved(linker)

        model = model_for_dialect(linker.misc.save_model_to_json(), SAVED_DIALECT)
        model[FIELDS_KEY] = sorted(fields)
        if charts_dir is not None:
            charts_dir.mkdir(parents=True, exist_ok=True)
            linker.visualisations.match_weights_chart().save(str(charts_dir / "match_weights.html"))
            linker.visualisations.m_u_parameters_chart().save(
                str(charts_dir / "m_u_parameters.html")
            )
        report = {
            "prior": prior,
            "training_rules": trained_rules,
            "rules_without_pairs": skipped,
            "comparisons": levels,
            "problems": _problems(levels, trained_rules, fields)
            + ([] if prior_rules else ["no near-certain rule to estimate the prior from"]),
        }
        return TrainedModel(model, model_version(model), records.num_rows, profile, report)


def predict(
    records: pa.Table,
    model: dict,
    warehouse: Path,
    threshold: float | None,
    rules: list[str] | None = None,
) -> pa.Table:
    """Scored pairs at or above `threshold`: ids, match_probability and the gamma
    levels. `rules` replaces the model's prediction blocking rules (SQL)."""
    with _splink_api(warehouse) as api:
        model = model_for_dialect(model, api.sql_dialect.sql_dialect_str)
        if rules is not None:
            model = {
                **model,
                "blocking_rules_to_generate_predictions": [
                    {"blocking_rule": sql, "sql_dialect": model["sql_dialect"]} for sql in rules
                ],
            }
        splink_settings = {k: v for k, v in model.items() if k != FIELDS_KEY}
        linker = Linker(_register(api, records), splink_settings, log_level=QUIET)
        scored = linker.inference.predict(threshold_match_probability=threshold)
        return _scored_pairs(api, scored)


def blocking_counts(records: pa.Table, warehouse: Path, fields: set[str]) -> list[dict]:
    """Exact pairs each prediction blocking rule adds (marginal) and in total (cumulative)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    rules = prediction_rules(fields)
    if not rules:
        return []
    with _splink_api(warehouse) as api:
        table = _register(api, records)
        counted = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=[CustomRule(sql) for _, sql in rules],
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        return [
            {
                "rule": label,
                "marginal": int(c["marginal_comparison_count"]),
                "cumulative": int(c["cumulative_comparison_count"]),
            }
            for (label, _), c in zip(rules, counted, strict=True)
        ]
