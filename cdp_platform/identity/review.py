"""The review loop for pairs the model is unsure of.

Splink pairs whose match probability falls in the review band
(`probabilistic.review_band`) are listed in `identity.review_queue` with
their evidence and the decision taken. A person labels a pair `match` or
`non-match` (`cdp identity review`); labels live in
`identity.review_labels`, keyed by the two records, and on every later run:
- force the decision: a `match` joins the two records' people (under the
  configured limits), a `non-match` keeps them in different people whatever
  else links them;
- measure the model: the share of labelled pairs the platform had linked
  that were labelled `match` is the labelled precision in the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cdp_platform.identity.linking import EDGES_TABLE, LABELS_TABLE
from cdp_platform.identity.nodes import RECORD_NODES_TABLE
from cdp_platform.resources.warehouse import table_exists
from cdp_platform.tables.identity import IDENTITY_RECORDS, RECORD_NODES, REVIEW_QUEUE

QUEUE_TABLE = REVIEW_QUEUE
LABELS = ("match", "non-match")


def labelled_node_pairs(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(node_a, node_b, label) of every label joining two different nodes, the
    latest first: what training learns from."""
    if not table_exists(conn, RECORD_NODES_TABLE):  # built by the first identity run
        return []
    return conn.execute(
        f"""SELECT a.node_id, b.node_id, l.label FROM {LABELS_TABLE} l
        JOIN {RECORD_NODES_TABLE} a ON a.record_key = l.record_a
        JOIN {RECORD_NODES_TABLE} b ON b.record_key = l.record_b
        WHERE a.node_id <> b.node_id
        ORDER BY l.labelled_at DESC, l.record_a, l.record_b"""
    ).fetchall()


def labels(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(record_a, record_b, label) of every label given."""
    return conn.execute(f"SELECT record_a, record_b, label FROM {LABELS_TABLE}").fetchall()


def add_label(
    conn: duckdb.DuckDBPyConnection, record_a: str, record_b: str, label: str, by: str
) -> None:
    """Record (or replace) a label; the records are named `source:source_record_id`."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, not {label!r}")
    a, b = sorted((record_a, record_b))
    known = conn.execute(
        f"SELECT count(*) FROM {RECORD_NODES} WHERE record_key IN (?, ?)", [a, b]
    ).fetchone()[0]
    if a == b or known != 2:
        raise ValueError(f"{record_a} and {record_b} must be two records of the warehouse")
    conn.execute(f"DELETE FROM {LABELS_TABLE} WHERE record_a = ? AND record_b = ?", [a, b])
    conn.execute(f"INSERT INTO {LABELS_TABLE} VALUES (?, ?, ?, now(), ?)", [a, b, label, by])


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    labelled: int
    labelled_likely: int  # labelled pairs the model scores more likely one person than not
    labelled_likely_match: int  # ... of which labelled `match`

    @property
    def labelled_precision(self) -> float | None:
        """How often the model is right when it calls a pair one person, by the labels."""
        if not self.labelled_likely:
            return None
        return self.labelled_likely_match / self.labelled_likely


def build_queue(conn: duckdb.DuckDBPyConnection, band: tuple[float, float]) -> QueueSummary:
    """Write `identity.review_queue`: the band's Splink pairs, labelled or not,
    and every labelled pair wherever the model now scores it."""
    conn.execute(
        f"""CREATE OR REPLACE TABLE {QUEUE_TABLE} AS
        SELECT e.record_a, e.record_b, e.match_probability, e.decision, e.evidence,
               l.label, l.labelled_at
        FROM {EDGES_TABLE} e
        LEFT JOIN {LABELS_TABLE} l USING (record_a, record_b)
        WHERE e.edge_kind = 'probabilistic' AND e.match_probability >= ? AND e.match_probability < ?
           OR l.label IS NOT NULL
        ORDER BY l.label IS NOT NULL, abs(e.match_probability - 0.5)""",
        [band[0], band[1]],
    )
    pending, labelled = conn.execute(
        f"SELECT count(*) FILTER (WHERE label IS NULL), count(label) FROM {QUEUE_TABLE}"
    ).fetchone()
    # Every labelled pair the model scored counts, in the band or not.
    likely, likely_match = conn.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE l.label = 'match')
        FROM {LABELS_TABLE} l JOIN {EDGES_TABLE} e USING (record_a, record_b)
        WHERE e.edge_kind = 'probabilistic' AND e.match_probability >= 0.5"""
    ).fetchone()
    return QueueSummary(pending, labelled, likely, likely_match)


def pending(conn: duckdb.DuckDBPyConnection, limit: int) -> list[tuple]:
    """The queue's unlabelled pairs, most uncertain first, with both records' fields."""
    fields = "first_name, last_name, email, phone, dob, postcode, street"
    return conn.execute(
        f"""SELECT q.record_a, q.record_b, round(q.match_probability, 3), q.decision,
               {", ".join(f"a.{f}" for f in fields.split(", "))},
               {", ".join(f"b.{f}" for f in fields.split(", "))}
        FROM {QUEUE_TABLE} q
        JOIN {IDENTITY_RECORDS} a ON a.source || ':' || a.source_record_id = q.record_a
        JOIN {IDENTITY_RECORDS} b ON b.source || ':' || b.source_record_id = q.record_b
        WHERE q.label IS NULL
        ORDER BY abs(q.match_probability - 0.5) LIMIT ?""",
        [limit],
    ).fetchall()
