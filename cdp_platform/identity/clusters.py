"""Person clusters: connected components of the identity graph.

Components are found with SciPy's sparse-graph routine on integer record
indices; the SQL around it maps record keys to indices and back.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

MAP_TABLE = "identity.person_id_map"


def cluster_records(conn: duckdb.DuckDBPyConnection, records_table: str, edges_table: str) -> int:
    """Write `identity.person_id_map` and return the number of persons."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _record_index AS "
        f"SELECT source, source_record_id, source || ':' || source_record_id AS record_key, "
        f"(row_number() OVER (ORDER BY source, source_record_id) - 1)::BIGINT AS idx "
        f"FROM {records_table}"
    )
    (count,) = conn.execute("SELECT count(*) FROM _record_index").fetchone()
    pairs = conn.execute(
        f"SELECT a.idx, b.idx FROM {edges_table} e "
        "JOIN _record_index a ON a.record_key = e.record_a "
        "JOIN _record_index b ON b.record_key = e.record_b"
    ).fetchnumpy()
    rows = pairs["idx"] if "idx" in pairs else np.array([], dtype=np.int64)
    cols = pairs.get("idx_1", np.array([], dtype=np.int64))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    conn.register(
        "_labels", pa.table({"idx": np.arange(count, dtype=np.int64), "component": labels})
    )
    # The id is derived from the component's first record key, so identical
    # input always gives identical ids.
    conn.execute(
        f"""CREATE OR REPLACE TABLE {MAP_TABLE} AS
        WITH c AS (
          SELECT r.source, r.source_record_id, r.record_key, l.component
          FROM _record_index r JOIN _labels l USING (idx)
        )
        SELECT source, source_record_id,
               'p_' || substr(md5(min(record_key) OVER (PARTITION BY component)), 1, 16) AS person_id
        FROM c"""
    )
    conn.unregister("_labels")
    return conn.execute(f"SELECT count(DISTINCT person_id) FROM {MAP_TABLE}").fetchone()[0]
