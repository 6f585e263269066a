"""Assemble persons from candidate links and record every decision.

Candidates are offered to the person graph (`graph.py`) strongest first:
1. deterministic pairs, in the configured identifier priority order;
2. values some record holds without a name (joined only when uncontested);
3. Splink candidates, most probable first.
Writes `identity.identity_edges` (each linked or refused pair with its
evidence and the reason for a refusal) and `identity.record_clusters`
(record -> cluster) for the stable-id step.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import duckdb
import numpy as np
import pyarrow as pa

from cdp_platform.identity.config import IdentityConfig
from cdp_platform.identity.deterministic import (
    RECORD_KEY,
    candidate_pairs_sql,
    nameless_holders_sql,
)
from cdp_platform.identity.graph import PersonGraph, PersonRules, link_holders, link_scored
from cdp_platform.identity.probabilistic import CANDIDATES

EDGES_TABLE = "identity.identity_edges"
CLUSTERS_TABLE = "identity.record_clusters"


@dataclass(frozen=True)
class GraphSummary:
    records: int
    clusters: int
    linked: dict[str, int]  # "kind: identifier" -> pairs linked
    refused: dict[str, int]  # reason -> candidate pairs refused


def _index_records(
    conn: duckdb.DuckDBPyConnection, records_table: str, limited: list[str]
) -> tuple[list, list, dict[str, list]]:
    """Number the records; return their names, birth dates and limited attributes."""
    extra = "".join(f", {c}" for c in limited)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _record_index AS
        SELECT source, source_record_id, {RECORD_KEY} AS record_key,
               (row_number() OVER (ORDER BY source, source_record_id) - 1)::BIGINT AS idx,
               first_name_canonical, last_name, CAST(dob AS VARCHAR) AS dob{extra}
        FROM {records_table}"""
    )
    rows = conn.execute(
        "SELECT * EXCLUDE (source, source_record_id, record_key) FROM _record_index ORDER BY idx"
    ).to_arrow_table()
    first = rows["first_name_canonical"].to_pylist()
    last = rows["last_name"].to_pylist()
    names = [(f, s) if f else None for f, s in zip(first, last, strict=True)]
    return names, rows["dob"].to_pylist(), {c: rows[c].to_pylist() for c in limited}


def _fetch(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    return conn.execute(sql).fetchnumpy()


def resolve_persons(
    conn: duckdb.DuckDBPyConnection,
    config: IdentityConfig,
    records_table: str,
    with_splink: bool,
) -> GraphSummary:
    limits = config.clustering.max_values_per_person
    names, dobs, limited = _index_records(conn, records_table, list(limits))
    graph = PersonGraph(
        names,
        dobs,
        limited,
        PersonRules(
            name_similarity=config.deterministic.first_name_similarity,
            dob_conflicts=config.clustering.dob_conflicts,
            max_values=dict(limits),
        ),
    )

    # 1. Deterministic pairs, strongest identifier first.
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pairs AS
        SELECT row_number() OVER (ORDER BY p.priority, a.idx, b.idx) - 1 AS n,
               a.idx AS a, b.idx AS b, p.*
        FROM ({candidate_pairs_sql(config, records_table)}) p
        JOIN _record_index a ON a.record_key = p.record_a
        JOIN _record_index b ON b.record_key = p.record_b"""
    )
    pairs = _fetch(conn, "SELECT a, b, check_names FROM _pairs ORDER BY n")
    pair_reasons = [
        graph.link(int(a), int(b), bool(check))
        for a, b, check in zip(pairs["a"], pairs["b"], pairs["check_names"], strict=True)
    ]

    # 2. Values held without a name: joined only when one person holds them.
    holders = conn.execute(
        f"""SELECT h.priority, h.identifier, h.value, r.idx, h.named
        FROM ({nameless_holders_sql(config, records_table)}) h
        JOIN _record_index r USING (record_key)
        ORDER BY h.priority, h.identifier, h.value, r.idx"""
    ).fetchall()
    held = []
    for (_, identifier, _), group in groupby(holders, key=lambda h: h[:3]):
        for a, anchor, reason in link_holders(graph, ((h[3], h[4]) for h in group)):
            held.append((a, anchor, identifier, reason))

    # 3. Splink candidates, most probable first.
    splink_reasons: list[str | None] = []
    if with_splink:
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE _scored_pairs AS
            SELECT row_number() OVER (ORDER BY c.match_probability DESC, a.idx, b.idx) - 1 AS n,
                   a.idx AS a, b.idx AS b, c.*
            FROM {CANDIDATES} c
            JOIN _record_index a ON a.record_key = c.record_a
            JOIN _record_index b ON b.record_key = c.record_b"""
        )
        scored = _fetch(
            conn,
            "SELECT a, b, match_probability, names_ok, supported FROM _scored_pairs ORDER BY n",
        )
        names = config.probabilistic.require_first_name_agreement
        splink_reasons = [
            _splink_refusal(ok, supported, names)
            for ok, supported in zip(scored["names_ok"], scored["supported"], strict=True)
        ]
        offered = [i for i, reason in enumerate(splink_reasons) if reason is None]
        decided = link_scored(
            graph,
            [
                (int(scored["a"][i]), int(scored["b"][i]), float(scored["match_probability"][i]))
                for i in offered
            ],
            names,
            config.clustering.strong_link_probability,
            config.clustering.bridge_support,
        )
        for i, reason in zip(offered, decided, strict=True):
            splink_reasons[i] = reason

    labels = graph.labels()
    _write_clusters(conn, labels)
    _write_edges(conn, pair_reasons, held, splink_reasons, with_splink)
    return _summarise(conn, len(labels), len(set(labels)))


def _splink_refusal(names_ok: bool, supported: bool, require_names: bool) -> str | None:
    if require_names and not names_ok:
        return "first names disagree or missing"
    if not supported:
        return "names alone"
    return None


def _write_clusters(conn: duckdb.DuckDBPyConnection, labels: list[int]) -> None:
    conn.register(
        "_labels",
        pa.table({"idx": np.arange(len(labels), dtype=np.int64), "cluster": labels}),
    )
    conn.execute(
        f"""CREATE OR REPLACE TABLE {CLUSTERS_TABLE} AS
        SELECT r.source, r.source_record_id, r.record_key, l.cluster
        FROM _record_index r JOIN _labels l USING (idx)"""
    )
    conn.unregister("_labels")


def _numbered(reasons: list[str | None]) -> pa.Table:
    return pa.table(
        {"n": np.arange(len(reasons), dtype=np.int64), "reason": pa.array(reasons, pa.string())}
    )


def _write_edges(
    conn: duckdb.DuckDBPyConnection,
    pair_reasons: list[str | None],
    held: list[tuple[int, int, str, str | None]],
    splink_reasons: list[str | None],
    with_splink: bool,
) -> None:
    conn.register("_pair_reasons", _numbered(pair_reasons))
    conn.register(
        "_held",
        pa.table(
            {
                "a": pa.array([h[0] for h in held], pa.int64()),
                "b": pa.array([h[1] for h in held], pa.int64()),
                "identifier": pa.array([h[2] for h in held], pa.string()),
                "reason": pa.array([h[3] for h in held], pa.string()),
            }
        ),
    )
    scored = ""
    if with_splink:
        conn.register("_splink_reasons", _numbered(splink_reasons))
        scored = """
          UNION ALL
          SELECT 2, s.n, s.a, s.b, 'probabilistic', 'splink', s.match_probability, s.evidence,
                 r.reason
          FROM _scored_pairs s JOIN _splink_reasons r USING (n)"""
    # One row per pair: the first candidate offered names it, all give evidence.
    conn.execute(
        f"""CREATE OR REPLACE TABLE {EDGES_TABLE} AS
        WITH offered (stage, n, a, b, edge_kind, identifier, match_probability, evidence, reason) AS (
          SELECT 0, p.n, p.a, p.b, 'deterministic', p.identifier, 1.0, p.evidence, r.reason
          FROM _pairs p JOIN _pair_reasons r USING (n)
          UNION ALL
          SELECT 1, row_number() OVER (), least(a, b), greatest(a, b), 'deterministic',
                 identifier, 1.0, identifier || ' equal, no first name on one record', reason
          FROM _held{scored}
        ), pairs AS (
          SELECT least(a, b) AS a, greatest(a, b) AS b,
                 arg_min(edge_kind, (stage, n)) AS edge_kind,
                 arg_min(identifier, (stage, n)) AS identifier,
                 arg_min(match_probability, (stage, n)) AS match_probability,
                 string_agg(evidence, ' | ' ORDER BY stage, n) AS evidence,
                 arg_min(reason, (stage, n)) FILTER (WHERE reason IS NOT NULL) AS reason
          FROM offered GROUP BY 1, 2
        )
        SELECT ra.record_key AS record_a, rb.record_key AS record_b, p.edge_kind, p.identifier,
               p.match_probability, p.evidence,
               CASE WHEN ca.cluster = cb.cluster THEN 'linked' ELSE 'refused' END AS decision,
               CASE WHEN ca.cluster <> cb.cluster THEN p.reason END AS refusal
        FROM pairs p
        JOIN _record_index ra ON ra.idx = p.a JOIN _record_index rb ON rb.idx = p.b
        JOIN {CLUSTERS_TABLE} ca ON ca.record_key = ra.record_key
        JOIN {CLUSTERS_TABLE} cb ON cb.record_key = rb.record_key"""
    )
    for name in ("_pair_reasons", "_held", "_splink_reasons"):
        if name != "_splink_reasons" or with_splink:
            conn.unregister(name)


def _summarise(conn: duckdb.DuckDBPyConnection, records: int, clusters: int) -> GraphSummary:
    linked = conn.execute(
        f"""SELECT edge_kind || ': ' || identifier, count(*) FROM {EDGES_TABLE}
        WHERE decision = 'linked' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    refused = conn.execute(
        f"""SELECT coalesce(refusal, 'linked elsewhere'), count(*) FROM {EDGES_TABLE}
        WHERE decision = 'refused' GROUP BY 1 ORDER BY 2 DESC"""
    ).fetchall()
    return GraphSummary(records, clusters, dict(linked), dict(refused))
