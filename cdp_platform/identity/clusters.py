"""Stable person ids for the clusters the identity graph assembled.

Ids are carried over from the previous map (see `stable_ids.py`); every id
issued is kept in `identity.persons` and every create, merge and split in
`identity.person_id_history`. `components` (plain connected components, with
SciPy's sparse-graph routine) is what a chaining resolver does; benchmarks
compare against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cdp_platform.identity.linking import CLUSTERS_TABLE, MAP_TABLE
from cdp_platform.identity.stable_ids import IdEvent, assign_person_ids
from cdp_platform.tables.identity import PERSON_ID_HISTORY, PERSONS

PERSONS_TABLE = PERSONS  # every id ever issued, and what became of it
HISTORY_TABLE = PERSON_ID_HISTORY


@dataclass(frozen=True)
class ClusterResult:
    persons: int
    created: int
    merged: int
    split: int
    moved: int  # earlier persons some of whose records moved to another person


def assign_stable_ids(
    conn: duckdb.DuckDBPyConnection, clusters_table: str = CLUSTERS_TABLE, run_id: str = ""
) -> ClusterResult:
    """Write `identity.person_id_map` from record clusters, keeping ids stable."""
    clusters = conn.execute(f"SELECT record_key, cluster AS component FROM {clusters_table}").df()
    previous, age = _previous_ids(conn)
    assigned, events = assign_person_ids(clusters, previous, age)
    clusters["person_id"] = clusters["component"].map(assigned)
    # Typed explicitly: with no records yet, pandas would type the empty columns as numbers.
    assigned_ids = pa.table(
        {
            "record_key": pa.array(clusters["record_key"].astype(object), pa.string()),
            "person_id": pa.array(clusters["person_id"].astype(object), pa.string()),
        }
    )
    conn.register("_assigned", assigned_ids)
    conn.execute(
        f"""CREATE OR REPLACE TABLE {MAP_TABLE} AS
        SELECT c.source, c.source_record_id, a.person_id
        FROM {clusters_table} c JOIN _assigned a USING (record_key)"""
    )
    conn.unregister("_assigned")
    _record_events(conn, events, run_id)
    return ClusterResult(
        persons=len(assigned),
        created=sum(e.event == "create" for e in events),
        merged=sum(e.event == "merge" for e in events),
        split=sum(e.event == "split" for e in events),
        moved=len({e.other_person_id for e in events if e.event == "move"}),
    )


def components(
    conn: duckdb.DuckDBPyConnection, records_table: str, edges_table: str
) -> pd.DataFrame:
    """record_key, component for every record; also leaves `_record_index` behind."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _record_index AS "
        f"SELECT source, source_record_id, source || ':' || source_record_id AS record_key, "
        f"(row_number() OVER (ORDER BY source, source_record_id) - 1)::BIGINT AS idx "
        f"FROM {records_table}"
    )
    keys = conn.execute("SELECT record_key FROM _record_index ORDER BY idx").fetchnumpy()[
        "record_key"
    ]
    pairs = conn.execute(
        f"SELECT a.idx AS a, b.idx AS b FROM {edges_table} e "
        "JOIN _record_index a ON a.record_key = e.record_a "
        "JOIN _record_index b ON b.record_key = e.record_b"
    ).fetchnumpy()
    count = len(keys)
    graph = coo_matrix(
        (np.ones(len(pairs["a"]), dtype=np.int8), (pairs["a"], pairs["b"])), shape=(count, count)
    )
    _, labels = connected_components(graph, directed=False)
    return pd.DataFrame({"record_key": np.asarray(keys, dtype=object), "component": labels})


def previous_person_count(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute(f"SELECT count(DISTINCT person_id) FROM {MAP_TABLE}").fetchone()[0]


def _previous_ids(conn: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, dict[str, int]]:
    previous = conn.execute(
        f"SELECT source || ':' || source_record_id AS record_key, person_id FROM {MAP_TABLE}"
    ).df()
    age = dict(conn.execute(f"SELECT person_id, created_seq FROM {PERSONS_TABLE}").fetchall())
    return previous, age


def _record_events(conn: duckdb.DuckDBPyConnection, events: list[IdEvent], run_id: str) -> None:
    if not events:
        return
    frame = pd.DataFrame(
        [(e.event, e.person_id, e.other_person_id, e.records) for e in events],
        columns=["event", "person_id", "other_person_id", "records"],
    )
    conn.register("_events", frame)
    conn.execute(
        f"INSERT INTO {HISTORY_TABLE} SELECT ?, now(), event, person_id, other_person_id, records "
        "FROM _events",
        [run_id],
    )
    conn.execute(
        f"""INSERT INTO {PERSONS_TABLE}
        SELECT person_id,
               (SELECT coalesce(max(created_seq), 0) FROM {PERSONS_TABLE})
                 + row_number() OVER (ORDER BY person_id),
               now(), 'active', NULL
        FROM _events WHERE event IN ('create', 'split')"""
    )
    conn.execute(
        f"""UPDATE {PERSONS_TABLE} SET status = 'merged', merged_into = e.person_id
        FROM _events e WHERE e.event = 'merge' AND {PERSONS_TABLE}.person_id = e.other_person_id"""
    )
    conn.unregister("_events")
