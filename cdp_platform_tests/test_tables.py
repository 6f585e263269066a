"""The tables every layer reads are named once, in `cdp_platform.tables`, each
with the asset that writes it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cdp_platform import tables
from cdp_platform.definitions import build_definitions
from cdp_platform.resources import warehouse

PACKAGE = Path(tables.__file__).parent
CATALOG = [value for value in vars(tables).values() if isinstance(value, tables.Table)]


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
    assert named_in == {table: ["tables.py"] for table in CATALOG}


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
