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
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals import comparison_level
from splink.internals.exceptions import EMTrainingException

from cdp_platform.identity.nodes import NODES_TABLE, SCORED_NODE
from cdp_platform.identity.splink_runtime import SplinkRuntime

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
# The model's weighing of a family's pairs (`household_weights`), beside Splink's settings.
HOUSEHOLD_KEY = "cdp_household"
# The columns whose exact agreement is weighed by how common the value is.
TERM_FREQUENCY_COLUMNS = ("first_name", "last_name")
INPUT_SQL = f"""
SELECT node_id AS unique_id, first_name_canonical AS first_name,
       first_name AS first_name_typed, last_name, email_match AS email, phone, phone_kind,
       last_name AS family_name,  -- see SURNAMES_ALIKE
       postcode, city,
       replace(street, ' ', '') AS street,  -- a space typed in the wrong place is common
       CAST(dob AS VARCHAR) AS dob
FROM {NODES_TABLE}
WHERE {SCORED_NODE}
"""
# Candidate EM training rules, most trusted first (see `train_em`). EM learns
# how often one person's records disagree on a field from pairs that agree on
# the rule's fields; the more those fields single out one person, the fewer
# namesakes, households and neighbours it mistakes for one person.
TRAINING_BLOCKS = (
    ("first_name", "last_name", "dob"),
    ("first_name", "last_name", "postcode"),
    ("first_name", "last_name", "street"),
    ("dob", "postcode"),
    ("dob", "street"),
    ("dob", "city"),
    ("email",),
    ("phone",),
    ("first_name", "last_name"),
    ("dob",),
    ("postcode",),
    ("street",),
    ("city", "substr(first_name, 1, 1)"),
    ("city",),
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
# prefixes catch a typo further along a name; a rule that adds too many pairs
# for the data is left out (`affordable_rules`).
PREDICTION_BLOCKS = (
    ("email",),
    ("phone",),
    ("postcode",),
    ("street",),
    ("first_name", "last_name", "city"),
    ("first_name", "last_name", "substr(dob, 1, 4)"),
    ("first_name", "last_name", "substr(dob, 6, 5)"),
    ("last_name", "dob"),
    ("dob", "substr(first_name, 1, 2)"),
    ("dob", "substr(last_name, 1, 2)"),
    ("substr(first_name, 1, 3)", "substr(last_name, 1, 4)"),
    ("last_name", "city"),
    ("city", "substr(dob, 1, 4)"),
    ("city", "substr(first_name, 1, 2)", "substr(last_name, 1, 2)"),
)
# More pairs than this per node from one rule, beyond those of the rules before
# it, and the rule is too loose for the data.
PAIRS_PER_NODE = 10
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
ADDRESS = ("postcode", "street", "city")
HOME_LEVELS = ("postcode and street equal", "street equal", "postcode equal")
# Suffix of a home level's twin for pairs whose surnames are alike too.
FAMILY = ", surnames alike"
# The address comparison reads the surname under a name of its own: Splink
# would not train it on pairs blocked on last_name otherwise, and those pairs'
# home agreement is as telling (a home level's m is the sum of its twins').
SURNAMES_ALIKE = "{jaro_winkler}(family_name_l, family_name_r) >= 0.88"
# The last-name levels that are surnames alike by that test.
SURNAME_ALIKE_LEVELS = (
    "Exact match on last_name",
    "Jaro-Winkler distance of last_name >= 0.95",
    "Jaro-Winkler distance of last_name >= 0.88",
)
CROSSED_NAME = (
    "coalesce(first_name_typed_l = last_name_r, false)"
    " OR coalesce(last_name_l = first_name_typed_r, false)"
)
CROSSED_LABEL = "one name typed in the other's box"
# Suffixes of an identifier's levels by how the first names compare.
FIRST_EQUAL = " and first name equal"
FIRST_ALIKE = " equal, first names alike"
FIRST_MISSING = " equal, a first name missing"
SHARED = " equal, first names differ"
# A name written as its initial agrees with every name of that letter.
INITIAL = (
    "(length({name}_l) = 1 OR length({name}_r) = 1)"
    " AND substr({name}_l, 1, 1) = substr({name}_r, 1, 1)"
)
# First names that agree as the deterministic rules read them: one canonical
# name, a typo, or an initial.
FIRST_NAMES_ALIKE = "{jaro_winkler}(first_name_l, first_name_r) >= 0.88 OR " + INITIAL.format(
    name="first_name_typed"
)


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
    """Every EM rule the fields can feed, most trusted first (see `train_em`)."""
    return [cols for cols in TRAINING_BLOCKS if _uses(cols, fields)]


def _trains(cols: tuple[str, ...], comparisons: dict[str, set[str]], needed: set[str]) -> set[str]:
    """The comparisons still needing training that a session on `cols` trains:
    an EM session trains every comparison but those reading a column it blocks on."""
    blocked = {_column(c) for c in cols}
    return {name for name in needed if not comparisons[name] & blocked}


@contextmanager
def _m_may_underflow() -> Iterator[None]:
    """Let EM store an m that underflowed below float64's range.

    When no match in a rule's pairs reaches a level, EM drives its m towards
    0; Splink refuses to store such a value and the whole session is lost.
    `_fix_unobserved` then floors it at `M_UNSEEN`."""
    original = comparison_level._validate_m_u_probability
    comparison_level._validate_m_u_probability = lambda value, name, text: None
    try:
        yield
    finally:
        comparison_level._validate_m_u_probability = original


def train_em(
    linker: Linker, fields: set[str], family: dict | None = None
) -> tuple[list[str], dict[str, str]]:
    """EM sessions, most trusted rule first, until each comparison is trained once.

    Rules are tried in `TRAINING_BLOCKS` order, strictest first; a rule that
    trains nothing still needed is skipped, and one EM cannot use is passed
    over, so a later one trains what it would have. `family` (an earlier fit's
    `family_dependence`) says how much likelier two people blocked together
    on a home share a surname (`_families_at_home`)."""
    comparisons = _comparison_columns(fields)
    needed = set(comparisons)
    trained, skipped = [], {}
    for cols in training_rules(fields):
        trains = _trains(cols, comparisons, needed)
        if not trains:
            continue
        label = " and ".join(cols)
        try:
            with _m_may_underflow(), _families_at_home(linker, _family_odds(linker, family, cols)):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*cols), max_pairs=EM_MAX_PAIRS
                )
        except EMTrainingException as exc:
            skipped[label] = str(exc).splitlines()[0]
            continue
        trained.append(label)
        needed -= trains
    return trained, skipped


@contextmanager
def _families_at_home(linker: Linker, odds: float) -> Iterator[None]:
    """The surname's alike levels (exact, and as alike as `SURNAMES_ALIKE`)
    `odds` times likelier among a session's non-matches, the others scaled
    to leave one in all.

    Among pairs sharing a home, two people share a surname far more often than
    strangers do, and more still if they share a birth date too (twins): with
    strangers' u, EM takes twins for one person whose first name was typed
    wholly wrong."""
    if "last_name" not in _comparisons(linker) or odds <= 1.0:
        yield
        return
    levels = [
        lv for lv in _comparisons(linker)["last_name"].comparison_levels if not lv.is_null_level
    ]
    saved = {lv.label_for_charts: (lv.u_probability, lv._tf_adjustment_weight) for lv in levels}
    alike = sum(lv.u_probability for lv in levels if lv.label_for_charts in SURNAME_ALIKE_LEVELS)
    raised = alike * odds / (1 - alike + alike * odds)
    for lv in levels:
        if lv.is_null_level:
            continue
        scale = (
            raised / alike
            if lv.label_for_charts in SURNAME_ALIKE_LEVELS
            else (1 - raised) / (1 - alike)
        )
        lv.u_probability *= scale
        # A family shares its surname however common it is: the level's u,
        # not the name's frequency.
        lv._tf_adjustment_weight = 0.0
    try:
        yield
    finally:
        # A session leaves the linker with its own copy of the comparisons.
        for lv in _comparisons(linker)["last_name"].comparison_levels:
            if not lv.is_null_level:
                lv.u_probability, lv._tf_adjustment_weight = saved[lv.label_for_charts]


def _family_odds(linker: Linker, family: dict | None, cols: tuple[str, ...]) -> float:
    """How many times likelier two people in a session's pairs share a surname
    than strangers: a home in the rule gives the family dependence, each of
    `FAMILY_AGREEMENTS` in it the family's rate of agreeing over strangers'."""
    blocked = {_column(c) for c in cols}
    if family is None or not {"postcode", "street"} & blocked:
        return 1.0
    odds = family["dependence"]
    for name, rate in family["family_agreement"].items():
        if name in blocked:
            odds *= max(rate / _exact_level(_comparisons(linker)[name]).u_probability, 1.0)
    return odds


def _comparisons(linker: Linker) -> dict:
    return {c.output_column_name: c for c in linker._settings_obj.comparisons}


def _exact_level(comparison):
    """Exact agreement: Splink numbers it highest."""
    return max(comparison.comparison_levels, key=lambda lv: lv.comparison_vector_value)


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
    # One name alone in the other's box: an agreement the last-name comparison
    # counts, even where that record's last-name box is empty; the first-name
    # comparison weighs it as nothing (`NEUTRAL`).
    crossed = [cll.CustomLevel(CROSSED_NAME, label_for_charts=CROSSED_LABEL)] if both_names else []
    missing = f"{column}_l IS NULL OR {column}_r IS NULL"
    null_level = (
        cll.CustomLevel(f"({missing}) AND NOT ({CROSSED_NAME})")
        if column == "last_name" and both_names
        else cll.CustomLevel(missing)
    ).configure(is_null_level=True, label_for_charts=f"{column} missing")
    typed = "first_name_typed" if column == "first_name" else column
    initial = cll.CustomLevel(
        INITIAL.format(name=typed), label_for_charts="an initial and a name that starts with it"
    )
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            null_level,
            cll.ExactMatchLevel(column, term_frequency_adjustments=True),
            *swapped,
            *crossed,
            cll.JaroWinklerLevel(column, 0.95),
            cll.JaroWinklerLevel(column, 0.88),
            initial,
            cll.JaroWinklerLevel(column, 0.7),
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
    """Exact agreement, split by how the first names compare: one address or
    number typed by two household members is no evidence of one person."""
    equal = f"{column}_l = {column}_r"
    agreements = (
        [
            cll.And(cll.ExactMatchLevel(column), cll.ExactMatchLevel("first_name")).configure(
                label_for_charts=f"{column}{FIRST_EQUAL}"
            ),
            EngineLevel(
                f"{equal} AND ({FIRST_NAMES_ALIKE})", label_for_charts=f"{column}{FIRST_ALIKE}"
            ),
            cll.CustomLevel(
                f"{equal} AND (first_name_l IS NULL OR first_name_r IS NULL)",
                label_for_charts=f"{column}{FIRST_MISSING}",
            ),
            cll.CustomLevel(equal, label_for_charts=f"{column}{SHARED}"),
        ]
        if with_first_name
        else [cll.ExactMatchLevel(column).configure(label_for_charts=f"{column} equal")]
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
        comparison_levels=[cll.NullLevel(column), *agreements, *mobiles, cll.ElseLevel()],
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
    homes = []
    if {"postcode", "street"} <= fields:
        homes.append(("postcode_l = postcode_r AND street_l = street_r", HOME_LEVELS[0]))
    if "street" in fields:
        homes.append(("street_l = street_r", HOME_LEVELS[1]))
    if "postcode" in fields:
        homes.append(("postcode_l = postcode_r", HOME_LEVELS[2]))
    for sql, label in homes:
        # A family shares a surname and a home far more often than chance:
        # such pairs have a level of their own, weighed by `family_dependence`.
        if "last_name" in fields:
            levels.append(
                EngineLevel(f"({sql}) AND {SURNAMES_ALIKE}", label_for_charts=f"{label}{FAMILY}")
            )
        levels.append(cll.CustomLevel(sql, label_for_charts=label))
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
        # The district: all but a postcode's last three characters (a UK
        # outward code, the first two digits of a five-digit ZIP code).
        levels.append(
            cll.CustomLevel(
                "length(postcode_l) > 4 AND length(postcode_r) > 4 AND "
                "left(postcode_l, length(postcode_l) - 3) = left(postcode_r, length(postcode_r) - 3)",
                label_for_charts="same postcode district",
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


def splink_connection(runtime: SplinkRuntime) -> duckdb.DuckDBPyConnection:
    spill = runtime.work_dir / "splink"
    spill.mkdir(parents=True, exist_ok=True)  # DuckDB creates one level only
    return duckdb.connect(
        config={
            "threads": runtime.threads,
            "memory_limit": runtime.memory_limit,
            "temp_directory": str(spill),
        }
    )


@contextmanager
def _splink_api(runtime: SplinkRuntime) -> Iterator:
    """Splink's database API on the runtime's engine."""
    if runtime.engine == "spark":
        from cdp_platform.identity import spark_engine  # pyspark is an optional extra

        with spark_engine.splink_api(runtime) as api:
            yield api
        return
    con = splink_connection(runtime)
    try:
        yield DuckDBAPI(connection=con)
    finally:
        con.close()


def _register(api, records: pa.Table):
    if isinstance(api, DuckDBAPI):
        return api.register(records)
    from cdp_platform.identity import spark_engine

    return api.register(spark_engine.to_spark(api.spark, records))


# Splink's column of a name frequency's match weight (log2 Bayes factor).
FREQUENCY_WEIGHT = "mw_tf_adj"


def _scored_pairs(api, scored) -> pa.Table:
    """ids, match_probability and the gamma levels of Splink's predictions, as Arrow."""
    if isinstance(api, DuckDBAPI):
        return api.duckdb_con.execute(
            "SELECT unique_id_l, unique_id_r, match_probability, "
            f"COLUMNS('^(gamma|{FREQUENCY_WEIGHT})_') FROM {scored.physical_name}"
        ).to_arrow_table()
    from cdp_platform.identity import spark_engine

    frame = scored.as_spark_dataframe()
    gammas = [c for c in frame.columns if c.startswith(("gamma_", f"{FREQUENCY_WEIGHT}_"))]
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


# A disagreement EM cannot learn: a junior and a senior (one name, one
# address) look to it like one person whose birth date was typed wholly
# wrong, so it would learn that one person's records often carry birth dates
# decades apart. They rarely do once typos, swaps and missing dates have
# levels of their own: this level's m is fixed, not trained. (Different first
# names are learned: a family sharing a home is weighed apart, see
# `family_dependence`, and registers differ in how freely names vary.)
FIXED_M = {("dob", "All other comparisons"): 1e-3}
# The m of a level no match in training reached (EM drove it towards 0): rare
# among matches, but not impossible.
M_UNSEEN = 1e-4
# Levels weighed as nothing (m = u), and why. Names swapped between the boxes
# show in both name comparisons; the evidence is counted once: in first_name
# for a swap, in last_name for one name typed in the other's box. An email or
# number shared by people whose first names differ is a household's (the
# deterministic rules refuse it too); the random sample that gives u cannot
# see how often families share one, so it is not weighed as a person's.
COUNTED_ONCE = "m fixed to u: counted once, in the other name's comparison"
HOUSEHOLD = "m fixed to u: a household shares it as often as one person repeats it"
NEUTRAL = {
    ("last_name", SWAPPED_LABEL): COUNTED_ONCE,
    ("last_name", SWAPPED_TYPO_LABEL): COUNTED_ONCE,
    ("first_name", CROSSED_LABEL): COUNTED_ONCE,
    ("email", f"email{SHARED}"): HOUSEHOLD,
    ("phone", f"phone{SHARED}"): HOUSEHOLD,
}


def _fix_unobserved(linker: Linker) -> dict[tuple[str, str], str]:
    """Every level the model uses, trained or deliberately fixed: where each
    level's parameters came from.

    A level EM never saw keeps m = u: it weighs nothing either way rather than
    a default that means nothing. A level the random sample never reached is
    rarer than one pair in the sample: u is set to that bound."""
    sources = {}
    for comparison in linker._settings_obj.comparisons:
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
                source = NEUTRAL[key]
            elif fixed is not None:
                level.m_probability = fixed
                source = "m fixed: a junior and a senior would teach EM otherwise"
            elif not level._has_estimated_m_values:
                level.m_probability = level.u_probability
                source = "m fixed to u (no weight): never seen in training"
            elif level.m_probability < M_UNSEEN:
                level.m_probability = M_UNSEEN
                source = "m floored: no match in training reached it"
            sources[key] = source
    return sources


def _level_report(linker: Linker, sources: dict[tuple[str, str], str]) -> list[dict]:
    """Each comparison's levels with m, u, match weight and where they came from."""
    report = []
    for comparison in linker._settings_obj.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m, u = level.m_probability, level.u_probability
            levels.append(
                {
                    "level": level.label_for_charts,
                    "m": m,
                    "u": u,
                    "match_weight": round(math.log2(m / u), 3) if m and u else None,
                    "source": sources[(comparison.output_column_name, level.label_for_charts)],
                }
            )
        report.append({"comparison": comparison.output_column_name, "levels": levels})
    return report


def _level(linker: Linker, comparison: str, label: str):
    levels = getattr(_comparisons(linker).get(comparison), "comparison_levels", [])
    return next((level for level in levels if level.label_for_charts == label), None)


def family_dependence(api, records: pa.Table, linker: Linker, fields: set[str]) -> dict | None:
    """How many times more often than chance two people share a surname and a
    home (postcode or street), and how such a family's members compare.

    Among the pairs sharing both, EM fits two classes (`family_mixture`): one
    person's records and a family's members. Twins share a birth date far more
    often than strangers do: weighed by the random sample's u, twins look like
    one person. The family class's pairs, set against what the surname and home
    agreements would give if independent, are the dependence; its rate of
    shared birth dates weighs the pairs of a family (`HOUSEHOLD_KEY`)."""
    homes = [c for c in ("postcode", "street") if c in fields]
    if "last_name" not in fields or not homes or not fields - {"last_name", *ADDRESS}:
        return None
    chance = _family_pairs_by_chance(records, homes)
    model = linker.misc.save_model_to_json()
    scored = _predict_pairs(api, records, model, None, [_rule_sql(("last_name", c)) for c in homes])
    if not chance or not scored.num_rows:
        return None
    one_person, agreement = _family_mixture(linker, scored)
    two_people = (1 - one_person) * scored.num_rows
    return {
        "pairs_sharing_surname_and_home": scored.num_rows,
        "one_person_share": one_person,
        "two_people_among_them": two_people,
        "by_chance": chance,
        "dependence": max(two_people / chance, 1.0),
        "family_agreement": agreement,
    }


# The random sample's u counts as this many family pairs in the family class's
# agreement rates: a register with few families keeps strangers' rates.
FAMILY_U_PRIOR_PAIRS = 50
# The comparisons on which a family's members agree exactly more often than
# strangers, and one person's records could not tell them apart: twins share a
# birth date. (A junior shares his father's names, however rare
# (`family_frequency_factor`); his birth date decades apart is weighed by
# `FIXED_M`.)
FAMILY_AGREEMENTS = ("dob",)


def _family_mixture(linker: Linker, scored: pa.Table) -> tuple[float, dict[str, float]]:
    """`family_mixture` over the comparisons that read neither surname nor home
    (first names, birth dates, emails, phones), with their trained m and u."""
    comparisons = []
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        if name in ("last_name", "address") or f"gamma_{name}" not in scored.column_names:
            continue
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        size = max(lv.comparison_vector_value for lv in levels) + 1
        m, u = np.ones(size), np.zeros(size)
        for lv in levels:
            m[lv.comparison_vector_value] = lv.m_probability
            u[lv.comparison_vector_value] = lv.u_probability
        gammas = scored.column(f"gamma_{name}").to_numpy(zero_copy_only=False).astype(np.int64)
        comparisons.append((name, m, u, gammas))
    return family_mixture(comparisons)


def family_mixture(
    comparisons: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[float, dict[str, float]]:
    """(share of one person's pairs, the family class's rate of exact agreement
    on each of `FAMILY_AGREEMENTS`) among pairs sharing a surname and a home,
    fitted by EM. Each comparison is (name, m by level, u by level, each pair's
    level); Splink numbers levels from 0 up to exact agreement, -1 is missing.

    One person's pairs follow the trained m. A family's members are strangers
    (the random sample's u) but for that one rate per comparison; the other
    levels keep strangers' proportions. Free in more levels, either class
    could mimic the other: a register whose people's first names vary freely
    would have its one person's pairs taken for twins. The rate starts at
    strangers' and rises only as far as the pairs demand."""
    rows = len(comparisons[0][3]) if comparisons else 0
    prepared = []
    for name, m, u, gammas in comparisons:
        seen = gammas >= 0  # a missing value weighs nothing either way
        prepared.append((name, m, u / u.sum(), np.where(seen, gammas, 0), seen))
    family = {name: u for name, _, u, _, _ in prepared}
    share = 0.5
    for _ in range(1000):
        one, two = np.full(rows, share), np.full(rows, 1 - share)
        for name, m, _, gammas, seen in prepared:
            one *= np.where(seen, m[gammas], 1.0)
            two *= np.where(seen, family[name][gammas], 1.0)
        responsibility = one / np.maximum(one + two, 1e-300)
        updated = float(np.mean(responsibility)) if rows else share
        for name, _, u, gammas, seen in prepared:
            if name in FAMILY_AGREEMENTS:
                family[name] = _family_levels(u, (1 - responsibility) * seen, gammas)
        if abs(updated - share) < 1e-7:
            share = updated
            break
        share = updated
    return share, {name: float(family[name][-1]) for name in FAMILY_AGREEMENTS if name in family}


def _family_levels(u: np.ndarray, weights: np.ndarray, gammas: np.ndarray) -> np.ndarray:
    """Strangers' level probabilities `u` with the exact agreement's (the
    highest level) set to its rate among the family class's pairs (`weights`),
    smoothed towards strangers' by `FAMILY_U_PRIOR_PAIRS`."""
    top = len(u) - 1
    agree = (float(np.sum(weights[gammas == top])) + FAMILY_U_PRIOR_PAIRS * u[top]) / (
        float(weights.sum()) + FAMILY_U_PRIOR_PAIRS
    )
    levels = np.where(np.arange(len(u)) == top, 0.0, u)
    levels *= (1 - agree) / max(levels.sum(), 1e-300)
    levels[top] = agree
    return levels


@contextmanager
def _over(records: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection where `records` is the table `records`."""
    conn = duckdb.connect()
    conn.register("records", records)
    try:
        yield conn
    finally:
        conn.close()


def _family_pairs_by_chance(records: pa.Table, homes: list[str]) -> float:
    """Pairs sharing a surname and a home if the two agreements were independent."""
    with _over(records) as conn:

        def pairs_sharing(*columns: str) -> int:
            filled = " AND ".join(f"{c} IS NOT NULL" for c in columns)
            groups = f"SELECT count(*) k FROM records WHERE {filled} GROUP BY {', '.join(columns)}"
            total = conn.execute(f"SELECT sum(k * (k - 1) // 2) FROM ({groups})").fetchone()[0]
            return int(total or 0)

        same_home = sum(pairs_sharing(c) for c in homes) - (
            pairs_sharing(*homes) if len(homes) == 2 else 0
        )
        same_surname = pairs_sharing("last_name")
    all_pairs = records.num_rows * (records.num_rows - 1) // 2
    return same_surname * same_home / all_pairs if all_pairs else 0.0


def _share_home_levels(linker: Linker) -> dict[tuple[str, str], str]:
    """Each home level and its surnames-alike twin, weighed as the home level:
    their trained m and sampled u summed (blocked on the surname, EM saw only
    the twin)."""
    sources = {}
    for home, family in _home_twins(linker):
        both = (home, family)
        m = sum(lv.m_probability for lv in both if lv._has_estimated_m_values)
        u = sum(lv.u_probability for lv in both if lv._has_estimated_u_values)
        if m and u:
            home.m_probability = family.m_probability = m
            home.u_probability = family.u_probability = u
            sources[("address", home.label_for_charts)] = (
                "trained: the home level's, surnames alike or not"
            )
            sources[("address", family.label_for_charts)] = (
                "trained: the home level's, u times the family dependence"
            )
    return sources


def _weigh_missing_first_names(linker: Linker) -> dict[tuple[str, str], str]:
    """An email or number on a record without a first name, weighed as the
    identifier's agreement among records whose first names agree: EM cannot
    see such pairs (they are blocked on the identifier alone), and the first
    name's absence says nothing of the match."""
    sources = {}
    for column in ("email", "phone"):
        missing = _level(linker, column, column + FIRST_MISSING)
        agreeing = [
            _level(linker, column, column + suffix) for suffix in (FIRST_EQUAL, FIRST_ALIKE)
        ]
        trained = [lv for lv in agreeing if lv is not None and lv._has_estimated_m_values]
        if missing is None or not trained:
            continue
        missing.m_probability = sum(lv.m_probability for lv in trained)
        missing.u_probability = sum(lv.u_probability for lv in trained)
        sources[(column, missing.label_for_charts)] = (
            "trained: the agreeing first names' levels together"
        )
    return sources


def _home_twins(linker: Linker) -> list:
    twins = [
        (_level(linker, "address", label), _level(linker, "address", label + FAMILY))
        for label in HOME_LEVELS
    ]
    return [(home, family) for home, family in twins if home is not None and family is not None]


def _weigh_families(linker: Linker, dependence: float) -> None:
    """A family shares a surname and a home `dependence` times more often than
    chance: the twin's u, given that the surname comparison already counted the
    surname once."""
    for home, family in _home_twins(linker):
        family.u_probability = min(home.u_probability * dependence, 1.0)


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
        trained = [lv for lv in comparison["levels"][:-1] if lv["source"].startswith("trained")]
        if not any((lv["match_weight"] or 0) > 0 for lv in trained):
            problems.append(
                f"{comparison['comparison']}: no agreement level was trained, so agreement "
                "on it counts for nothing"
            )
    return problems


# A trained level's m counts as this many labelled matches when review labels
# refine it: a few labels nudge what EM learnt from thousands of pairs, many
# outweigh it.
EM_AS_LABELS = 50
# Labelled pairs read per training, the latest first (their nodes are compared
# all against all).
MAX_LABELS = 500


def learn_from_labels(
    api, linker: Linker, records: pa.Table, labelled: list[tuple[str, str, str]]
) -> dict[tuple[str, str], str]:
    """Each trained level's m, refined by the comparison levels of the node pairs
    reviewers labelled a match (Splink's estimate from pairwise labels, blended
    with EM's as a prior worth `EM_AS_LABELS` labels). Non-matches are not a
    random sample of pairs, so u keeps its random-sample estimate."""
    matches = [pair[:2] for pair in labelled[:MAX_LABELS] if pair[2] == "match"]
    if not matches:
        return {}
    # Each labelled pair's two nodes, tagged with the pair: blocked on the tag,
    # Splink compares exactly the labelled pairs.
    with _over(records) as conn:
        conn.register(
            "labelled",
            pa.table(
                {
                    "pair": range(len(matches)),
                    "a": [m[0] for m in matches],
                    "b": [m[1] for m in matches],
                }
            ),
        )
        pairs = conn.execute(
            """SELECT r.* REPLACE (r.unique_id || '#' || l.pair AS unique_id), l.pair AS label_pair
            FROM records r JOIN (SELECT pair, a AS node FROM labelled
                                 UNION ALL SELECT pair, b FROM labelled) l
              ON r.unique_id = l.node"""
        ).to_arrow_table()
    model = linker.misc.save_model_to_json()
    scored = _predict_pairs(api, pairs, model, None, ["l.label_pair = r.label_pair"])
    sources = {}
    for comparison in linker._settings_obj.comparisons:
        column = f"gamma_{comparison.output_column_name}"
        if column not in scored.column_names:
            continue
        gammas = scored[column].to_numpy(zero_copy_only=False)
        gammas = gammas[gammas >= 0]  # a missing value says nothing of m
        if not len(gammas):
            continue
        for level in comparison.comparison_levels:
            if level.is_null_level or not level._has_estimated_m_values:
                continue
            seen = int(np.sum(gammas == level.comparison_vector_value))
            level.m_probability = (EM_AS_LABELS * level.m_probability + seen) / (
                EM_AS_LABELS + len(gammas)
            )
            sources[(comparison.output_column_name, level.label_for_charts)] = (
                f"trained: EM and {len(gammas)} labelled matches"
            )
    return sources


def _fit(
    api,
    linker: Linker,
    records: pa.Table,
    fields: set[str],
    prior: float,
    labelled: list,
    family: dict | None = None,
) -> tuple[list[str], dict[str, str], dict[tuple[str, str], str], dict | None]:
    """EM, labels and the fixed levels: (rules trained on, rules without pairs,
    where each level's parameters came from, the family dependence found).
    `family` is an earlier fit's dependence, for `train_em`."""
    trained_rules, skipped = train_em(linker, fields, family)
    # An EM session can leave behind the prior it adjusted for its own
    # blocking rule (far higher: blocked pairs are mostly matches; 35 times
    # the true rate on FEBRL3). The prior from the near-certain rules above
    # is the one that applies to all pairs.
    _set_prior(linker, prior)
    refined = learn_from_labels(api, linker, records, labelled)
    sources = _fix_unobserved(linker)
    sources |= {key: note for key, note in refined.items() if sources[key] == "trained"}
    sources |= _share_home_levels(linker)
    sources |= _weigh_missing_first_names(linker)
    family = family_dependence(api, records, linker, fields)
    if family is not None:
        _weigh_families(linker, family["dependence"])
    return trained_rules, skipped, sources, family


def _forget_em(linker: Linker, initial: dict) -> None:
    """Back to the m before any EM session (`initial`), keeping u and the prior."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            level._trained_m_probabilities = []
            if not level.is_null_level:
                level.m_probability = initial[
                    (comparison.output_column_name, level.label_for_charts)
                ]


def train(
    records: pa.Table,
    runtime: SplinkRuntime,
    charts_dir: Path | None = None,
    labelled: list[tuple[str, str, str]] | None = None,
) -> TrainedModel:
    """Comparisons, prior and EM rules chosen from the fields present; u by random
    sampling, then EM over every rule the data can feed, refined by the
    reviewers' labelled matches (node pairs); seeded."""
    profile = {**evidence_profile(records), "labels": len(labelled or [])}
    fields = present_fields(profile)
    with _splink_api(runtime) as api:
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
        initial = {
            (c.output_column_name, lv.label_for_charts): lv.m_probability
            for c in linker._settings_obj.comparisons
            for lv in c.comparison_levels
            if not lv.is_null_level
        }
        fitted = _fit(api, linker, records, fields, prior, labelled or [])
        trained_rules, skipped, sources, family = fitted
        if family is not None and any(
            _family_odds(linker, family, cols) > 1
            for cols in training_rules(fields)
            if " and ".join(cols) in trained_rules
        ):
            # Sessions blocked on a home took a family's members for
            # strangers: fitted again, knowing how families share a surname.
            _forget_em(linker, initial)
            fitted = _fit(api, linker, records, fields, prior, labelled or [], family)
            trained_rules, skipped, sources, family = fitted
        levels = _level_report(linker, sources)

        model = model_for_dialect(linker.misc.save_model_to_json(), SAVED_DIALECT)
        model[FIELDS_KEY] = sorted(fields)
        if family is not None:
            model[HOUSEHOLD_KEY] = household_weights(linker, family)
        if charts_dir is not None:
            charts_dir.mkdir(parents=True, exist_ok=True)
            # Vega's scripts inlined: the charts open offline, with no CDN.
            linker.visualisations.match_weights_chart().save(
                str(charts_dir / "match_weights.html"), inline=True
            )
            linker.visualisations.m_u_parameters_chart().save(
                str(charts_dir / "m_u_parameters.html"), inline=True
            )
        report = {
            "prior": prior,
            "training_rules": trained_rules,
            "rules_without_pairs": skipped,
            "comparisons": levels,
            "family": family,
            "problems": _problems(levels, trained_rules, fields)
            + ([] if prior_rules else ["no near-certain rule to estimate the prior from"]),
        }
        return TrainedModel(model, model_version(model), records.num_rows, profile, report)


def term_frequencies(records: pa.Table) -> dict[str, pa.Table]:
    """How common each name is among all the nodes: `predict` weighs a name
    agreement by these, so a pair's score does not depend on which other nodes
    were scored with it."""
    with _over(records) as conn:
        return {
            column: conn.execute(
                f"SELECT {column}, count(*) / sum(count(*)) OVER () AS tf_{column} "
                f"FROM records WHERE {column} IS NOT NULL GROUP BY {column}"
            ).to_arrow_table()
            for column in TERM_FREQUENCY_COLUMNS
            if column in records.column_names
        }


def predict(
    records: pa.Table,
    model: dict,
    runtime: SplinkRuntime,
    threshold: float | None,
    rules: list[str] | None = None,
    frequencies: dict[str, pa.Table] | None = None,
) -> pa.Table:
    """Scored pairs at or above `threshold`: ids, match_probability and the gamma
    levels. `rules` replaces the model's prediction blocking rules (SQL);
    `frequencies` (`term_frequencies` of every node) those of `records`."""
    with _splink_api(runtime) as api:
        scored = _predict_pairs(api, records, model, threshold, rules, frequencies)
    return weigh_households(scored, model, threshold)


def household_weights(linker: Linker, family: dict) -> dict:
    """For pairs sharing a surname and a home (the address comparison's family
    levels), the factor on the Bayes factor of each comparison's exact
    agreement that replaces strangers' u by a family's rate: `u / rate`, never
    above 1 (a family is never more evidence of one person than strangers);
    and the family dependence, which weighs how common their names are
    (`family_frequency_factor`)."""
    comparisons = _comparisons(linker)
    factors = {}
    for name, rate in family["family_agreement"].items():
        level = _exact_level(comparisons[name])
        # Family members agreeing as often as one person's records would mean
        # the mixture took one person for a family: such a rate is not used.
        factor = 1.0 if rate >= level.m_probability else level.u_probability / max(rate, 1e-12)
        factors[name] = {"level": level.comparison_vector_value, "factor": min(1.0, factor)}
    return {
        "address_levels": [
            lv.comparison_vector_value
            for lv in comparisons["address"].comparison_levels
            if lv.label_for_charts.endswith(FAMILY)
        ],
        "factors": factors,
        "dependence": family["dependence"],
    }


def family_frequency_factor(weight: np.ndarray, dependence: float) -> np.ndarray:
    """The factor on Splink's name-frequency adjustment (`weight`, log2 of its
    Bayes factor B = u / the name's frequency) for pairs sharing a surname and
    a home.

    Strangers share a rare name rarely, but a family shares its surname, and a
    son his father's first name, however rare. Of the non-matching pairs at one
    home with one surname, a share 1/D are strangers (D the family dependence),
    who share a name as often as it is common; the rest are a family's members,
    who share it at the level's u whatever the name. So u becomes
    u (1/B + D - 1) / D, and the factor is D / (1 + (D - 1) B). With no
    families (D = 1) a rare name's bonus stands; with many it is gone. A common
    name's malus (B < 1) stays."""
    bonus = np.exp2(np.maximum(np.nan_to_num(weight, nan=0.0), 0.0))
    return dependence / (1.0 + (dependence - 1.0) * bonus)


def weigh_households(scored: pa.Table, model: dict, threshold: float | None) -> pa.Table:
    """Splink's pairs, those of a family weighed by a family's agreement rates
    and dependence (`household_weights`), at or above `threshold` again."""
    household = model.get(HOUSEHOLD_KEY)
    frequency_weights = [c for c in scored.column_names if c.startswith(f"{FREQUENCY_WEIGHT}_")]
    if not household or not scored.num_rows or "gamma_address" not in scored.column_names:
        return scored.drop_columns(frequency_weights)
    address = scored["gamma_address"].to_numpy(zero_copy_only=False)
    factor = np.ones(scored.num_rows)
    for column in frequency_weights:
        weight = scored[column].to_numpy(zero_copy_only=False).astype(np.float64)
        factor *= family_frequency_factor(weight, household.get("dependence", 1.0))
    scored = scored.drop_columns(frequency_weights)
    for name, weight in household["factors"].items():
        if f"gamma_{name}" in scored.column_names:
            gammas = scored[f"gamma_{name}"].to_numpy(zero_copy_only=False)
            factor = np.where(gammas == weight["level"], factor * weight["factor"], factor)
    factor = np.where(np.isin(address, household["address_levels"]), factor, 1.0)
    probability = scored["match_probability"].to_numpy(zero_copy_only=False)
    scored = scored.set_column(
        scored.schema.get_field_index("match_probability"),
        "match_probability",
        pa.array(probability * factor / (probability * factor + 1 - probability), pa.float64()),
    )
    if threshold is not None:
        scored = scored.filter(pc.greater_equal(scored["match_probability"], threshold))
    return scored


def _predict_pairs(
    api,
    records: pa.Table,
    model: dict,
    threshold: float | None,
    rules: list[str] | None,
    frequencies: dict[str, pa.Table] | None = None,
) -> pa.Table:
    model = model_for_dialect(model, api.sql_dialect.sql_dialect_str)
    if rules is not None:
        model = {
            **model,
            "blocking_rules_to_generate_predictions": [
                {"blocking_rule": sql, "sql_dialect": model["sql_dialect"]} for sql in rules
            ],
        }
    splink_settings = {k: v for k, v in model.items() if k not in (FIELDS_KEY, HOUSEHOLD_KEY)}
    # The names' frequency weights, only where `weigh_households` reads them.
    families = model.get(HOUSEHOLD_KEY, {}).get("dependence", 1.0) > 1.0
    splink_settings["retain_intermediate_calculation_columns"] = families
    linker = Linker(_register(api, records), splink_settings, log_level=QUIET)
    for column, table in (frequencies or {}).items():
        linker.table_management.register_term_frequency_lookup(_register(api, table), column)
    scored = linker.inference.predict(threshold_match_probability=threshold)
    return _scored_pairs(api, scored)


def affordable_rules(
    records: pa.Table, runtime: SplinkRuntime, fields: set[str], apart: str | None = None
) -> tuple[list[str], list[str]]:
    """(SQL of the prediction rules to use, labels of those too loose to use).

    A rule is judged by the pairs it adds to the rules before it: more than
    `PAIRS_PER_NODE` for every node means its values are shared by crowds in
    this data (a first-name prefix and surname prefix among millions of
    records), and its pairs would cost more than the few matches only it finds."""
    counts = blocking_counts(records, runtime, fields)
    budget = PAIRS_PER_NODE * max(records.num_rows, 1)
    loose = {c["rule"] for c in counts if c["marginal"] > budget}
    rules = prediction_rules(fields, apart=apart)
    return [sql for label, sql in rules if label not in loose], sorted(loose)


def blocking_counts(records: pa.Table, runtime: SplinkRuntime, fields: set[str]) -> list[dict]:
    """Exact pairs each prediction blocking rule adds (marginal) and in total (cumulative)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    rules = prediction_rules(fields)
    if not rules:
        return []
    with _splink_api(runtime) as api:
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
