"""Pairwise accuracy of person clusters against a ground truth.

Over the records present in both, every pair of records is either in one
person or not, by the clusters and by the truth. Precision is the share of
predicted same-person pairs that are true; recall the share of true pairs
found. Counted per group in SQL (n choose 2), never by listing pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from cdp_platform.tables.identity import IDENTITY_RECORDS, PERSON_ID_MAP


@dataclass(frozen=True)
class PairwiseScores:
    records: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise_scores(
    conn: duckdb.DuckDBPyConnection,
    ground_truth_csv: Path,
    map_table: str = PERSON_ID_MAP,
    identifying_only: bool = False,
    records_table: str = IDENTITY_RECORDS,
) -> PairwiseScores:
    """`identifying_only` counts only records carrying an identifying field: a
    browser that never signed in or ordered can be placed by no method."""
    only = (
        f"JOIN {records_table} r USING (source, source_record_id) WHERE NOT ({_bare('r')})"
        if identifying_only
        else ""
    )
    row = conn.execute(
        f"""
        WITH truth AS (
          SELECT * FROM read_csv(?, header = true, all_varchar = true)
        ), joined AS (
          SELECT m.person_id, t.true_person
          FROM {map_table} m JOIN truth t USING (source, source_record_id) {only}
        ),
        predicted AS (SELECT count(*) AS n FROM joined GROUP BY person_id),
        actual AS (SELECT count(*) AS n FROM joined GROUP BY true_person),
        correct AS (SELECT count(*) AS n FROM joined GROUP BY person_id, true_person)
        SELECT (SELECT count(*) FROM joined),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM predicted),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM actual),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM correct)
        """,
        [str(ground_truth_csv)],
    ).fetchone()
    return PairwiseScores(*(int(v) for v in row))


# A record none of whose fields could tie it to anyone (a browser that never
# signed in and never ordered): no method can place it.
IDENTIFYING = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "user_id",
    "dob",
    "postcode",
    "street",
)


def _bare(alias: str) -> str:
    """SQL: the record carries nothing that could tie it to anyone."""
    empty = " AND ".join(f"{alias}.{c} IS NULL" for c in IDENTIFYING)
    return f"({empty} AND coalesce(len({alias}.order_ids), 0) = 0)"


def recall_ceiling(
    conn: duckdb.DuckDBPyConnection,
    ground_truth_csv: Path,
    records_table: str = IDENTITY_RECORDS,
) -> float:
    """Share of true pairs whose two records both carry an identifying field."""
    true_pairs, linkable = conn.execute(
        f"""
        WITH truth AS (
          SELECT * FROM read_csv(?, header = true, all_varchar = true)
        ), joined AS (
          SELECT t.true_person, {_bare("r")} AS bare
          FROM {records_table} r JOIN truth t USING (source, source_record_id)
        ), groups AS (
          SELECT count(*) AS n, count(*) FILTER (WHERE NOT bare) AS k
          FROM joined GROUP BY true_person
        )
        SELECT sum(n * (n - 1) // 2), sum(k * (k - 1) // 2) FROM groups
        """,
        [str(ground_truth_csv)],
    ).fetchone()
    return float(linkable) / float(true_pairs) if true_pairs else 1.0
