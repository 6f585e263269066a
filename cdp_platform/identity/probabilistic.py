"""Splink's evidence for the graph: candidate pairs, then every pair near them.

Two passes over the nodes (`staging.identity_nodes`):
1. **Candidates.** The model's blocking rules, skipping pairs a configured
   identifier has already joined, keep the pairs at least as likely a match
   as not (`CANDIDATE_PROBABILITY`).
2. **Neighbourhoods.** Candidates and identifier links form tentative groups;
   within each, every pair of nodes is scored, so the graph can weigh two
   people by all their nodes rather than by their best pair. A group larger
   than `max_group_nodes` keeps its candidate pairs only.

The decision threshold is chosen from the model's own calibration
(`calibrated_threshold`): the lowest probability at which the candidates
linked would, by the model's estimate, still be right at the target
precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cdp_platform.identity import splink_model
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.sql_text import quoted

# Pairs at least as likely a match as not are candidates.
CANDIDATE_PROBABILITY = 0.5
# The first pass keeps pairs this likely under the trained prior, so that the
# data's own prior (`prior_in_data`) can lift them to candidates.
FIRST_PASS_PROBABILITY = 0.01
THRESHOLD_STEP = 0.01

STATE = "_node_state"


@dataclass
class ScoredPairs:
    """Pairs of node indices with Splink's probability and evidence."""

    a: np.ndarray
    b: np.ndarray
    probability: np.ndarray
    evidence: list[str]
    candidates: int  # pairs from the first pass
    groups: int  # tentative groups scored in full
    threshold: float
    loose_rules: list[str]  # prediction rules left out: too many pairs for the data
    prior: float  # the data's own (`prior_in_data`), which the probabilities use


def _levels(comparison: dict) -> list[tuple[int, dict]]:
    """(gamma, level) of the non-null levels; Splink numbers them from the top, highest first."""
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    return [(len(levels) - 1 - i, level) for i, level in enumerate(levels)]


def evidence_sql(model: dict) -> str:
    """SQL naming the comparison level of each compared field, from the gamma columns."""
    parts = []
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        cases = " ".join(
            f"WHEN {gamma} THEN {quoted(f'{column}: ' + level['label_for_charts'])}"
            for gamma, level in _levels(comparison)
        )
        parts.append(f"CASE s.gamma_{column} {cases} END")
    household = model.get(splink_model.HOUSEHOLD_KEY)
    if household and household["address_levels"]:
        family = ", ".join(str(level) for level in household["address_levels"])
        for name, weight in household["factors"].items():
            note = quoted(
                f"family: {name} equal as often as a family's members' is, "
                f"Bayes factor x {weight['factor']:.3g}"
            )
            parts.append(
                f"CASE WHEN s.gamma_address IN ({family}) AND s.gamma_{name} = {weight['level']} "
                f"THEN {note} END"
            )
        named = [
            f"s.gamma_{c['output_column_name']} = {_levels(c)[0][0]}"
            for c in model["comparisons"]
            if c["output_column_name"] in splink_model.TERM_FREQUENCY_COLUMNS
        ]
        if named and household.get("dependence", 1.0) > 1.0:
            note = quoted(
                "family: how rare the names are weighed by the family dependence "
                f"{household['dependence']:.3g}"
            )
            parts.append(
                f"CASE WHEN s.gamma_address IN ({family}) AND ({' OR '.join(named)}) "
                f"THEN {note} END"
            )
    return f"concat_ws('; ', {', '.join(parts)})"


def prior_in_data(probability: np.ndarray, prior: float, joined: float, pairs: float) -> float:
    """The prior at which the node pairs expected to match, those the
    identifiers joined plus the scored pairs' probabilities, are the prior
    times all pairs (EM's estimate of the prior, over the pairs scored).

    The trained prior comes from near-certain rules assumed to find a fixed
    share of the matches: too high where identifiers find most of them, too low
    in a register whose duplicates are typed freely."""
    if not pairs or not len(probability):
        return prior
    factors = _bayes_factors(probability, prior)
    value = prior
    for _ in range(200):
        updated = (joined + float(np.sum(_probability(factors, value)))) / pairs
        updated = min(max(updated, 1e-12), 0.5)
        if abs(updated - value) <= 1e-6 * value:
            return updated
        value = updated
    return value


def _bayes_factors(probability: np.ndarray, prior: float) -> np.ndarray:
    certain = np.clip(probability, 0.0, 1.0 - 1e-16)
    return certain / (1 - certain) * (1 - prior) / prior


def _probability(factors: np.ndarray, prior: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        odds = factors * prior / (1 - prior)
        return np.where(np.isinf(odds), 1.0, odds / (1 + odds))


def reweighed(scored: pa.Table, prior: float, new_prior: float) -> pa.Table:
    """Splink's pairs with their probabilities under `new_prior`."""
    if not scored.num_rows or new_prior == prior:
        return scored
    column = scored.schema.get_field_index("match_probability")
    factors = _bayes_factors(scored["match_probability"].to_numpy(zero_copy_only=False), prior)
    return scored.set_column(
        column, "match_probability", pa.array(_probability(factors, new_prior), pa.float64())
    )


def _joined_pairs(nodes: pa.Table) -> float:
    """Node pairs the configured identifiers already put in one person."""
    clusters = np.unique(nodes["joined"].to_numpy(zero_copy_only=False), return_counts=True)[1]
    return float(np.sum(clusters * (clusters - 1) / 2))


# A prior in the data within this share of the last run's is the last run's.
PRIOR_TOLERANCE = 0.05


def kept(estimate: float, previous: float | None, tolerance: float) -> float:
    """The previous run's value while the new estimate stays within `tolerance`
    of it: records a run erased after identity had seen them, or a quiet day,
    move the threshold and the prior by a hair, and the pairs on the threshold
    would flip back and forth."""
    if previous is not None and abs(estimate - previous) <= tolerance + 1e-12:
        return previous
    return estimate


def calibrated_threshold(probabilities: np.ndarray, target_precision: float) -> float:
    """The lowest probability at which the pairs at or above it are, by the
    model's own estimate (their mean probability), right at `target_precision`,
    rounded down to a step of `THRESHOLD_STEP`."""
    if len(probabilities) == 0:
        return CANDIDATE_PROBABILITY
    ordered = np.sort(probabilities)[::-1]
    running = np.cumsum(ordered) / np.arange(1, len(ordered) + 1)
    meets = np.nonzero(running >= target_precision)[0]
    if len(meets) == 0:
        return float(ordered[0])
    # On a grid of THRESHOLD_STEP: a day's new records or an erasure moves the
    # estimate a little, and a threshold that followed it would flip the pairs
    # sitting on it from one run to the next.
    stepped = math.floor(float(ordered[meets[-1]]) / THRESHOLD_STEP) * THRESHOLD_STEP
    return max(round(stepped, 6), CANDIDATE_PROBABILITY)


def _with_state(conn: duckdb.DuckDBPyConnection, where: str = "") -> pa.Table:
    """The nodes Splink compares, with their columns of the registered `STATE`."""
    return splink_model.read_input(conn, f"JOIN {STATE} x ON x.node_id = i.unique_id {where}")


def _predict(
    records: pa.Table,
    model: dict,
    runtime: SplinkRuntime,
    threshold: float | None,
    rules: list[str],
    frequencies: dict[str, pa.Table],
) -> pa.Table:
    if records.num_rows < 2:
        return pa.table(
            {
                "unique_id_l": pa.array([], pa.string()),
                "unique_id_r": pa.array([], pa.string()),
                "match_probability": pa.array([], pa.float64()),
            }
        )
    return splink_model.predict(records, model, runtime, threshold, rules, frequencies)


def _groups(count: int, edges: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    a = np.concatenate([e[0] for e in edges]) if edges else np.array([], dtype=np.int64)
    b = np.concatenate([e[1] for e in edges]) if edges else np.array([], dtype=np.int64)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(count, count))
    return connected_components(graph, directed=False)[1]


def score_nodes(
    conn: duckdb.DuckDBPyConnection,
    runtime: SplinkRuntime,
    model: dict,
    node_ids: list[str],
    joined: np.ndarray,
    identifier_pairs: tuple[np.ndarray, np.ndarray],
    target_precision: float,
    max_group_nodes: int,
    previous: tuple[float, float] | None = None,
) -> ScoredPairs:
    """Both passes for the nodes `node_ids` (their index is their position);
    `joined` is each node's cluster after the configured identifiers;
    `previous` the threshold and prior of the last run with this model."""
    previous_threshold, previous_prior = previous or (None, None)
    fields = splink_model.model_fields(model)
    index = {node: i for i, node in enumerate(node_ids)}
    state = pa.table({"node_id": node_ids, "joined": joined.astype(np.int64)})
    conn.register(STATE, state)
    try:
        everyone = _with_state(conn)
        rules, loose = splink_model.affordable_rules(everyone, runtime, fields, apart="joined")
        frequencies = splink_model.term_frequencies(everyone)
        first = _predict(everyone, model, runtime, FIRST_PASS_PROBABILITY, rules, frequencies)
        trained_prior = model["probability_two_random_records_match"]
        nodes = everyone.num_rows
        prior = kept(
            prior_in_data(
                first["match_probability"].to_numpy(zero_copy_only=False) if first.num_rows else [],
                trained_prior,
                _joined_pairs(everyone),
                nodes * (nodes - 1) / 2,
            ),
            previous_prior,
            PRIOR_TOLERANCE * (previous_prior or 0),
        )
        first = reweighed(first, trained_prior, prior)
        first = first.filter(pc.greater_equal(first["match_probability"], CANDIDATE_PROBABILITY))
        fa = np.array([index[u] for u in first["unique_id_l"].to_pylist()], dtype=np.int64)
        fb = np.array([index[u] for u in first["unique_id_r"].to_pylist()], dtype=np.int64)
        count = len(node_ids)
        spine = np.arange(count, dtype=np.int64)
        group = _groups(count, [(spine, joined.astype(np.int64)), identifier_pairs, (fa, fb)])
        sizes = np.bincount(group)
        in_group = np.where(sizes[group] > 1, group, -1)
        in_group = np.where(sizes[group] <= max_group_nodes, in_group, -1)
        conn.unregister(STATE)
        conn.register(
            STATE,
            pa.table({"node_id": node_ids, "joined": joined.astype(np.int64), "grp": in_group}),
        )
        second = _predict(
            _with_state(conn, "WHERE x.grp >= 0"),
            model,
            runtime,
            None,
            ["l.grp = r.grp AND l.joined <> r.joined"],
            frequencies,
        )
        second = reweighed(second, trained_prior, prior)
    finally:
        conn.unregister(STATE)
    pairs = _combine(conn, model, first, second, index)
    threshold = kept(
        calibrated_threshold(
            first["match_probability"].to_numpy() if first.num_rows else np.array([]),
            target_precision,
        ),
        previous_threshold,
        THRESHOLD_STEP,
    )
    return ScoredPairs(
        *pairs,
        candidates=first.num_rows,
        groups=int(len(set(in_group.tolist()) - {-1})),
        threshold=threshold,
        loose_rules=loose,
        prior=prior,
    )


def _combine(conn, model: dict, first: pa.Table, second: pa.Table, index: dict[str, int]):
    """One row per node pair, with its evidence; the second pass, scored among
    the group's nodes, wins."""
    tables = [
        t.append_column("pass", pa.array([n] * t.num_rows, pa.int8()))
        for n, t in ((2, second), (1, first))
        if t.num_rows
    ]
    if not tables:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=float), []
    columns = tables[0].column_names
    conn.register("_scored", pa.concat_tables([t.select(columns) for t in tables]))
    try:
        rows = conn.execute(
            f"""SELECT least(s.unique_id_l, s.unique_id_r) AS l, greatest(s.unique_id_l, s.unique_id_r) AS r,
                   arg_max(s.match_probability, s.pass) AS p,
                   arg_max('splink match probability ' || round(s.match_probability, 4) || ': '
                     || {evidence_sql(model)}, s.pass) AS evidence
            FROM _scored s GROUP BY 1, 2 ORDER BY 1, 2"""
        ).to_arrow_table()
    finally:
        conn.unregister("_scored")
    a = np.array([index[u] for u in rows["l"].to_pylist()], dtype=np.int64)
    b = np.array([index[u] for u in rows["r"].to_pylist()], dtype=np.int64)
    return a, b, rows["p"].to_numpy(), rows["evidence"].to_pylist()
