"""Assemble persons from identity nodes and record every decision.

1. Configured identifiers that need no names (one web-shop account, one
   order) join nodes outright, under the configured limits.
2. Identifiers that need agreeing names (an email, a phone) and Splink's
   candidates are weighed together: every pair of nodes near them is scored
   (`probabilistic.py`) and people are merged by average linkage at the
   calibrated threshold (`graph.link_by_evidence`). Without a trained model
   the identifier pairs link directly.
3. Values some node holds without a name join their named holders when
   those are one person.
Writes `identity.identity_edges` (each linked or refused pair with its
evidence and, if refused, why) and `identity.record_clusters` (record ->
cluster) for the stable-id step. Records of one node are linked as
`identical identity fields`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

import duckdb
import numpy as np
import pyarrow as pa

from cdp_platform.identity.deterministic import candidate_pairs_sql, nameless_holders_sql
from cdp_platform.identity.graph import (
    HYSTERESIS_BITS,
    KEPT_APART,
    PersonGraph,
    PersonRules,
    PlausiblePeople,
    hysteresis_band,
    link_by_evidence,
    link_holders,
)
from cdp_platform.identity.nodes import IDS, NODES_TABLE, RECORD_NODES_TABLE, SCORED_NODE
from cdp_platform.identity.probabilistic import (
    CANDIDATE_PROBABILITY,
    score_nodes,
)
from cdp_platform.identity.splink_model import model_version
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.identity_config import IdentityConfig
from cdp_platform.resources.warehouse import table_exists
from cdp_platform.tables.identity import (
    IDENTITY_EDGES,
    PERSON_ID_MAP,
    RECORD_CLUSTERS,
    REVIEW_LABELS,
)

EDGES_TABLE = IDENTITY_EDGES
LABELS_TABLE = REVIEW_LABELS  # written by `review.py`
CLUSTERS_TABLE = RECORD_CLUSTERS
MAP_TABLE = PERSON_ID_MAP  # the previous run's, written by `clusters.py`
CALIBRATION_TABLE = "identity.link_calibration"  # each model's last threshold and prior


@dataclass(frozen=True)
class GraphSummary:
    records: int
    nodes: int
    clusters: int
    linked: dict[str, int]  # "kind: identifier" -> pairs linked
    refused: dict[str, int]  # reason -> candidate pairs refused
    scoring: dict = field(default_factory=dict)  # candidates, groups, threshold


@dataclass
class _Offers:
    """Every link offered to the graph, in the order offered."""

    rows: list[tuple] = field(default_factory=list)

    def add(self, a, b, kind, identifier, probability, evidence, reason) -> None:
        self.rows.append((int(a), int(b), kind, identifier, float(probability), evidence, reason))

    def table(self) -> pa.Table:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [[]] * 7
        types = (pa.int64(), pa.int64(), *[pa.string()] * 2, pa.float64(), *[pa.string()] * 2)
        names = ("a", "b", "edge_kind", "identifier", "match_probability", "evidence", "reason")
        return pa.table(
            {
                "n": np.arange(len(self.rows), dtype=np.int64),
                **{
                    name: pa.array(column, kind)
                    for name, column, kind in zip(names, columns, types, strict=True)
                },
            }
        )


def _index_nodes(
    conn: duckdb.DuckDBPyConnection, limited: list[str]
) -> tuple[list, np.ndarray, dict]:
    """Number the nodes; return their ids, whether Splink scores them, limited values."""
    extra = "".join(f", {IDS}{c} AS {c}" for c in limited)
    extra += ", first_name_canonical, last_name, CAST(dob AS VARCHAR) AS dob"
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _node_index AS
        SELECT node_id, record_key,
               (row_number() OVER (ORDER BY record_key) - 1)::BIGINT AS idx,
               ({SCORED_NODE}) AS scored{extra}
        FROM {NODES_TABLE}"""
    )
    rows = conn.execute("SELECT * FROM _node_index ORDER BY idx").to_arrow_table()
    first, last = rows["first_name_canonical"].to_pylist(), rows["last_name"].to_pylist()
    return (
        rows["node_id"].to_pylist(),
        rows["scored"].to_numpy(zero_copy_only=False).astype(bool),
        {c: rows[c].to_pylist() for c in limited},
        [(f, s) if f else None for f, s in zip(first, last, strict=True)],
        rows["dob"].to_pylist(),
    )


def resolve_persons(
    conn: duckdb.DuckDBPyConnection,
    config: IdentityConfig,
    model: dict | None,
    runtime: SplinkRuntime,
) -> GraphSummary:
    limits = config.clustering.max_values_per_person
    node_ids, scored, limited, names, dobs = _index_nodes(conn, list(limits))
    similarity = config.deterministic.first_name_similarity
    # Without a model, links that need agreeing names are judged by names and
    # birth dates over whole people; with one, the model weighs them.
    plausible = PlausiblePeople(names, dobs, similarity) if model is None else None
    graph = PersonGraph(len(node_ids), limited, PersonRules(dict(limits)), plausible)
    offers = _Offers()

    # 0. Reviewers' labels: a non-match keeps people apart, a match joins them.
    labelled = conn.execute(
        f"""SELECT a.idx, b.idx, l.label
        FROM {LABELS_TABLE} l
        JOIN {RECORD_NODES_TABLE} ra ON ra.record_key = l.record_a
        JOIN {RECORD_NODES_TABLE} rb ON rb.record_key = l.record_b
        JOIN _node_index a ON a.node_id = ra.node_id JOIN _node_index b ON b.node_id = rb.node_id
        ORDER BY l.record_a, l.record_b"""
    ).fetchall()
    for a, b, label in labelled:
        if label == "non-match":
            graph.keep_apart(a, b)
    # Offered last, so a pair's edge keeps the model's evidence and probability.
    matched = [(a, b, graph.link(a, b)) for a, b, label in labelled if label == "match"]

    # 1. Configured identifiers, strongest first; those needing names wait for the model.
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pairs AS
        SELECT a.idx AS a, b.idx AS b, p.*
        FROM ({candidate_pairs_sql(config, NODES_TABLE)}) p
        JOIN _node_index a ON a.node_id = p.record_a
        JOIN _node_index b ON b.node_id = p.record_b
        ORDER BY p.priority, a.idx, b.idx"""
    )
    pairs = conn.execute("SELECT a, b, identifier, check_names, evidence FROM _pairs").fetchall()
    named_pairs = []
    for a, b, identifier, check_names, evidence in pairs:
        if check_names and model is not None:
            named_pairs.append((a, b, identifier, evidence))
            continue
        offers.add(a, b, "deterministic", identifier, 1.0, evidence, graph.link(a, b, check_names))

    # 2. The model's evidence, weighed by average linkage.
    scoring: dict = {}
    if model is not None:
        joined = np.array(graph.labels(), dtype=np.int64)
        named = (
            np.array([p[0] for p in named_pairs], dtype=np.int64),
            np.array([p[1] for p in named_pairs], dtype=np.int64),
        )
        probabilistic = config.probabilistic
        result = score_nodes(
            conn,
            runtime,
            model,
            node_ids,
            joined,
            named,
            probabilistic.target_precision,
            config.clustering.max_group_nodes,
            _previous_calibration(conn, model_version(model)),
        )
        _keep_calibration(conn, model_version(model), result.threshold, result.prior)
        previous = _previous_persons(conn, len(node_ids))
        probability = with_hysteresis(
            result.probability,
            result.threshold,
            *_previously_together(previous, result.a, result.b),
        )
        triples = list(zip(result.a.tolist(), result.b.tolist(), probability.tolist(), strict=True))
        refused = link_by_evidence(
            graph,
            triples,
            scored.tolist(),
            result.threshold,
            result.prior,
            previous.tolist(),
            HYSTERESIS_BITS,
        )
        scoring = {
            "candidates": result.candidates,
            "groups_scored": result.groups,
            "pairs_scored": len(triples),
            "threshold": round(result.threshold, 4),
            "prior_in_data": float(f"{result.prior:.4g}"),
            "rules_too_loose": ", ".join(result.loose_rules) or "none",
        }
        scores = {
            (a, b): (p, e)
            for a, b, p, e in zip(
                result.a.tolist(),
                result.b.tolist(),
                result.probability.tolist(),
                result.evidence,
                strict=True,
            )
        }
        below = f"the two people's nodes are not one person at the threshold {result.threshold:.3f}"
        for a, b, identifier, evidence in named_pairs:
            p, splink_evidence = scores.get((min(a, b), max(a, b)), (None, "not scored"))
            offers.add(
                a,
                b,
                "deterministic",
                identifier,
                1.0,
                f"{evidence}; {splink_evidence}",
                _why_apart(graph, refused, a, b, below),
            )
        for (a, b), (p, evidence) in scores.items():
            if p >= CANDIDATE_PROBABILITY:
                offers.add(
                    a,
                    b,
                    "probabilistic",
                    "splink",
                    p,
                    evidence,
                    _why_apart(graph, refused, a, b, below),
                )

    # 3. Values held without a name: joined only when one person holds them.
    holders = conn.execute(
        f"""SELECT h.priority, h.identifier, h.value, n.idx, h.named
        FROM ({nameless_holders_sql(config, NODES_TABLE)}) h
        JOIN _node_index n ON n.node_id = h.record_key
        ORDER BY h.priority, h.identifier, h.value, n.idx"""
    ).fetchall()
    for (_, identifier, _), group in groupby(holders, key=lambda h: h[:3]):
        for a, anchor, reason in link_holders(graph, ((h[3], h[4]) for h in group)):
            offers.add(
                a,
                anchor,
                "deterministic",
                identifier,
                1.0,
                f"{identifier} equal, no first name on one record",
                reason,
            )

    for a, b, reason in matched:
        offers.add(a, b, "deterministic", "review label", 1.0, "labelled match in review", reason)
    # A labelled pair the model did not score again still shows why it is apart.
    for a, b, label in labelled:
        if label == "non-match":
            offers.add(
                a,
                b,
                "deterministic",
                "review label",
                0.0,
                KEPT_APART,
                KEPT_APART,
            )

    labels = graph.labels()
    _write_clusters(conn, labels)
    _write_edges(conn, offers)
    records = conn.execute(f"SELECT count(*) FROM {RECORD_NODES_TABLE}").fetchone()[0]
    return _summarise(conn, records, len(labels), len(set(labels)), scoring)


def with_hysteresis(
    probability: np.ndarray, threshold: float, together: np.ndarray, apart: np.ndarray
) -> np.ndarray:
    """Pairs within the hysteresis band (`hysteresis_band`) keep the previous
    run's decision: one person's records stay together a little below the
    threshold, two people's stay apart a little above it. Records erased after
    identity saw them, or another day's names, shift term frequencies and so
    probabilities a little; a pair sitting on the threshold would otherwise
    flip each run."""
    low, high = hysteresis_band(threshold)
    near_below = (probability >= low) & (probability < threshold)
    near_above = (probability >= threshold) & (probability < high)
    kept = np.where(together & near_below, threshold, probability)
    return np.where(apart & near_above, np.nextafter(threshold, 0), kept)


def _previous_persons(conn: duckdb.DuckDBPyConnection, count: int) -> np.ndarray:
    """Each node's person in the previous map, as a code; -1 for a node not seen."""
    person = np.full(count, -1, dtype=np.int64)
    held = conn.execute(
        f"""SELECT n.idx, dense_rank() OVER (ORDER BY min(m.person_id)) AS person
        FROM _node_index n JOIN {RECORD_NODES_TABLE} rn ON rn.node_id = n.node_id
        JOIN {MAP_TABLE} m ON m.source || ':' || m.source_record_id = rn.record_key
        GROUP BY 1"""
    ).fetchnumpy()
    person[held["idx"]] = held["person"]
    return person


def _previously_together(
    person: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each node pair: both nodes held by one person in the previous map,
    and held by two."""
    known = (person[a] >= 0) & (person[b] >= 0)
    same = known & (person[a] == person[b])
    return same, known & ~same


def _previous_calibration(
    conn: duckdb.DuckDBPyConnection, version: str
) -> tuple[float, float] | None:
    """The threshold and prior in the data of this model's last run."""
    if not table_exists(conn, CALIBRATION_TABLE):
        return None
    row = conn.execute(
        f"SELECT threshold, prior FROM {CALIBRATION_TABLE} WHERE model_version = ?", [version]
    ).fetchone()
    return (row[0], row[1]) if row else None


def _keep_calibration(
    conn: duckdb.DuckDBPyConnection, version: str, threshold: float, prior: float
) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {CALIBRATION_TABLE} (model_version VARCHAR PRIMARY KEY, "
        "threshold DOUBLE, prior DOUBLE, recorded_at TIMESTAMPTZ)"
    )
    conn.execute(
        f"INSERT OR REPLACE INTO {CALIBRATION_TABLE} VALUES (?, ?, ?, now())",
        [version, threshold, prior],
    )


def _why_apart(graph: PersonGraph, refused: dict, a: int, b: int, below: str) -> str | None:
    """None when the pair's nodes ended in one person; else the reason."""
    ra, rb = graph.find(a), graph.find(b)
    if ra == rb:
        return None
    return graph.conflict(ra, rb) or refused.get((min(ra, rb), max(ra, rb))) or below


def _write_clusters(conn: duckdb.DuckDBPyConnection, labels: list[int]) -> None:
    conn.register(
        "_labels",
        pa.table({"idx": np.arange(len(labels), dtype=np.int64), "cluster": labels}),
    )
    conn.execute(
        f"""CREATE OR REPLACE TABLE {CLUSTERS_TABLE} AS
        SELECT r.source, r.source_record_id, r.record_key, l.cluster
        FROM {RECORD_NODES_TABLE} r JOIN _node_index n USING (node_id) JOIN _labels l USING (idx)"""
    )
    conn.unregister("_labels")


def _write_edges(conn: duckdb.DuckDBPyConnection, offers: _Offers) -> None:
    conn.register("_offers", offers.table())
    # One row per pair: the first offer names it, all give evidence. Records of
    # one node are one person by their identical fields.
    conn.execute(
        f"""CREATE OR REPLACE TABLE {EDGES_TABLE} AS
        WITH pairs AS (
          SELECT least(a, b) AS a, greatest(a, b) AS b,
                 arg_min(edge_kind, n) AS edge_kind,
                 arg_min(identifier, n) AS identifier,
                 arg_min(match_probability, n) AS match_probability,
                 string_agg(evidence, ' | ' ORDER BY n) AS evidence,
                 arg_min(reason, n) FILTER (WHERE reason IS NOT NULL) AS reason
          FROM _offers GROUP BY 1, 2
        )
        SELECT least(na.record_key, nb.record_key) AS record_a,
               greatest(na.record_key, nb.record_key) AS record_b, p.edge_kind, p.identifier,
               p.match_probability, p.evidence,
               CASE WHEN ca.cluster = cb.cluster THEN 'linked' ELSE 'refused' END AS decision,
               CASE WHEN ca.cluster <> cb.cluster THEN coalesce(p.reason, 'linked elsewhere') END
                 AS refusal
        FROM pairs p
        JOIN _node_index na ON na.idx = p.a JOIN _node_index nb ON nb.idx = p.b
        JOIN {CLUSTERS_TABLE} ca ON ca.record_key = na.record_key
        JOIN {CLUSTERS_TABLE} cb ON cb.record_key = nb.record_key
        UNION ALL
        SELECT n.record_key, r.record_key, 'deterministic', 'identical identity fields', 1.0,
               'every identity field equal', 'linked', NULL
        FROM {RECORD_NODES_TABLE} r JOIN _node_index n USING (node_id)
        WHERE r.record_key <> n.record_key"""
    )
    conn.unregister("_offers")


def _summarise(
    conn: duckdb.DuckDBPyConnection, records: int, nodes: int, clusters: int, scoring: dict
) -> GraphSummary:
    linked = conn.execute(
        f"""SELECT edge_kind || ': ' || identifier, count(*) FROM {EDGES_TABLE}
        WHERE decision = 'linked' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    refused = conn.execute(
        f"""SELECT refusal, count(*) FROM {EDGES_TABLE}
        WHERE decision = 'refused' GROUP BY 1 ORDER BY 2 DESC"""
    ).fetchall()
    return GraphSummary(records, nodes, clusters, dict(linked), dict(refused), scoring)


def probability_bands(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """(band, scored pairs, of which linked) of the scored candidate pairs, by
    match probability in tenths, the top tenth split at 0.99: where the model's
    scores sit and where the threshold cut them."""
    return conn.execute(
        f"""
        WITH banded AS (
            SELECT CASE WHEN match_probability >= 0.99 THEN 0.99
                        WHEN match_probability >= 0.9 THEN 0.9
                        ELSE floor(match_probability * 10) / 10 END AS low,
                   decision
            FROM {EDGES_TABLE} WHERE match_probability IS NOT NULL
        )
        SELECT printf('%.2f-%.2f', low, CASE low WHEN 0.9 THEN 0.99 WHEN 0.99 THEN 1.0
                                               ELSE low + 0.1 END),
               count(*)::INTEGER, count(*) FILTER (decision = 'linked')::INTEGER
        FROM banded GROUP BY low ORDER BY low"""
    ).fetchall()
