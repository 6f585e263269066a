"""The warehouse's tables are declared once, in `cdp_platform.tables`, each with
the asset that writes it; a pipeline run builds every declared table with exactly
its declared columns."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cdp_platform import tables
from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.resources import warehouse
from cdp_platform.tables.catalog import LAYERS
from cdp_platform.tables.catalog import TABLES as CATALOG
from cdp_platform.tables.table import Table, create_tables
from cdp_platform_tests.pipeline_runs import START_DATE, run_landing

PACKAGE = Path(tables.__file__).parent.parent


def _code_strings(path: Path) -> list[str]:
    """Every string constant of the module's code (docstrings left out: prose
    may name a table)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_each_catalogued_table_is_named_in_one_module():
    assert CATALOG
    named_in = {table: [] for table in CATALOG}
    for path in sorted(PACKAGE.rglob("*.py")):
        strings = _code_strings(path)
        for table in CATALOG:
            # The whole name: `profiles.consent_state` is not in `..._statements`.
            whole = re.compile(rf"(?<![\w.]){re.escape(table)}(?!\w)")
            if any(whole.search(text) for text in strings):
                named_in[table].append(path.relative_to(PACKAGE).as_posix())
    declared_in = {
        table: [f"tables/{module.__name__.rsplit('.', 1)[1]}.py"]
        for module in LAYERS
        for table in vars(module).values()
        if isinstance(table, Table)
    }
    assert named_in == declared_in


def test_each_catalogued_table_is_written_by_its_owning_asset():
    """The owner is an asset (the one that declares the table, where one does)
    or a group whose every asset writes its own rows."""
    graph = build_definitions().resolve_asset_graph()
    assets = {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}
    groups = {node.group_name for node in assets.values()}
    for table in CATALOG:
        assert table.schema in warehouse.SCHEMAS, table
        assert table.owner in assets or table.owner in groups, table
    for name, node in assets.items():
        declared = node.metadata.get("dagster/table_name")
        owner = next((t.owner for t in CATALOG if t == declared), None)
        assert owner in (None, name, node.group_name), (name, declared)


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return conn.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [schema, name],
    ).fetchall()


def _declared_columns(table: tables.table.Table) -> list[tuple[str, str]]:
    """The columns DuckDB makes of the declaration (`TIMESTAMPTZ` reads back as
    `TIMESTAMP WITH TIME ZONE`)."""
    conn = duckdb.connect()
    conn.execute(f"CREATE SCHEMA {table.schema}")
    create_tables(conn, [table])
    return _columns(conn, table)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("catalog")
    generate(out, persons=300, days=20, start=date.fromisoformat(START_DATE))
    run_landing(out / "landing", out / "warehouse.duckdb")
    conn = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    yield conn
    conn.close()


def test_every_declared_table_is_built_with_its_declared_columns(built):
    declared = [t for t in CATALOG if t.columns]
    assert len(declared) >= 20
    drifted = {
        t: (_columns(built, t), _declared_columns(t))
        for t in declared
        if _columns(built, t) != _declared_columns(t)
    }
    assert not drifted
    # The run filled the layers' main tables: their columns were checked on what
    # the pipeline built, not on the empty tables a new warehouse starts with.
    empty = [t for t in declared if not built.execute(f"SELECT count(*) FROM {t}").fetchone()[0]]
    assert not set(empty) & {
        "sources.partition_loads",
        "staging.identity_records",
        "identity.identity_edges",
        "identity.person_id_map",
        "profiles.golden_profiles",
        "profiles.customer_timeline",
        "profiles.customer_scores",
        "profiles.accounts",
        "segments.segment_memberships",
        "activation.sync_log",
    }, empty


def test_a_new_warehouse_holds_every_declared_table_and_a_new_column_reaches_an_old_one(
    tmp_path,
):
    path = tmp_path / "w.duckdb"
    with warehouse.connect(path) as conn:
        for table in (t for t in CATALOG if t.columns):
            assert _columns(conn, table) == _declared_columns(table), table
        conn.execute("ALTER TABLE activation.sync_state DROP COLUMN in_flight_hash")
    with warehouse.connect(path) as conn:
        assert ("in_flight_hash", "VARCHAR") in _columns(conn, "activation.sync_state")


FILE_SUFFIXES = ("yaml", "csv", "json", "jsonl", "md", "html", "py", "parquet", "duckdb")


def test_every_warehouse_table_name_is_a_literal_in_one_module():
    """Catalogued or kept by the one layer that uses it, a table's `schema.name`
    is written in one module; everything else refers to it by its constant."""
    name = re.compile(rf"(?<![\w.])(?:{'|'.join(warehouse.SCHEMAS)})\.([a-z_]+)\b")
    named_in: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for text in _code_strings(path):
            for match in name.finditer(text):
                if match.group(1) not in FILE_SUFFIXES:
                    named_in.setdefault(match.group(0), set()).add(
                        path.relative_to(PACKAGE).as_posix()
                    )
    assert len(named_in) > len(CATALOG)
    assert {t: m for t, m in named_in.items() if len(m) > 1} == {}
