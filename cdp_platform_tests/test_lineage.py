"""The asset graph's lineage is the warehouse's: every table an asset reads is
written by itself or by an asset upstream of it.

The whole pipeline runs on the demo data with every statement recorded beside
the step that ran it; sqlglot names the tables each statement reads and writes.
A table read whose writer is not upstream of the reader is a dependency the UI
does not show (a source drawn as a dead end, a stale asset never marked as such).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlglot
from dagster._core.execution.context.compute import current_execution_context
from sqlglot import exp

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.resources import warehouse
from cdp_platform.tables.catalog import TABLES as CATALOG
from cdp_platform_tests.pipeline_runs import START_DATE, run_landing

WAREHOUSE_SCHEMAS = set(warehouse.SCHEMAS)
TABLE_NAME = re.compile(rf"\b({'|'.join(WAREHOUSE_SCHEMAS)})\.(\w+)", re.IGNORECASE)


class _Recorder:
    """Every statement run on the warehouse, with the assets of the step that ran
    it, appended to a file: each run executes in a child process of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, sql: object) -> None:
        context = current_execution_context.get()
        if context is None or not isinstance(sql, str):
            return
        try:
            keys = sorted(key.to_user_string() for key in context.selected_asset_keys)
        except Exception:  # an asset check's step: it reads, it does not own
            keys = []
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"assets": keys, "sql": sql}) + "\n")

    @property
    def statements(self) -> list[tuple[frozenset, str]]:
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]
        return [
            (frozenset(dg.AssetKey.from_user_string(k) for k in r["assets"]), r["sql"])
            for r in rows
        ]


class _RecordingCursor:
    def __init__(self, cursor, recorder: _Recorder) -> None:
        self._cursor = cursor
        self._recorder = recorder

    def execute(self, sql, *args, **kwargs):
        self._recorder.record(sql)
        return self._cursor.execute(sql, *args, **kwargs)

    def sql(self, sql, *args, **kwargs):
        self._recorder.record(sql)
        return self._cursor.sql(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _RecordingInstance:
    def __init__(self, instance, recorder: _Recorder) -> None:
        self._instance = instance
        self._recorder = recorder

    def cursor(self):
        return _RecordingCursor(self._instance.cursor(), self._recorder)

    def __getattr__(self, name):
        return getattr(self._instance, name)


# Statements that touch no table: the session's settings and transactions.
NO_TABLES = (
    "USE ",
    "SET ",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "CHECKPOINT",
    "PRAGMA ",
    "CREATE SCHEMA",
)


def tables(sql: str) -> tuple[set[str], set[str]]:
    """(tables read, tables written) by `sql`, as `schema.table` in the warehouse's schemas."""
    reads, writes = set(), set()
    if sql.lstrip().upper().startswith(NO_TABLES):
        return reads, writes
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.ParseError:  # named by pattern instead: every table a read
        return {f"{schema}.{name}" for schema, name in TABLE_NAME.findall(sql)}, writes
    for statement in statements:
        if statement is None:
            continue
        targets = set()
        # Creating or filling a table makes it the asset's. Deleting or updating
        # rows in place moves no data into the asset (erasure reaches every
        # layer, owning none of it): such a target is neither read nor written.
        if isinstance(statement, exp.Create | exp.Insert | exp.Delete | exp.Update):
            target = statement.this
            target = target.this if isinstance(target, exp.Schema) else target
            if isinstance(target, exp.Table):
                targets.add(id(target))
                if isinstance(statement, exp.Create | exp.Insert):
                    writes.add(_name(target))
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            if id(table) not in targets and table.name not in ctes:
                reads.add(_name(table))
    return (
        {t for t in reads if t.split(".")[0] in WAREHOUSE_SCHEMAS},
        {t for t in writes if t.split(".")[0] in WAREHOUSE_SCHEMAS},
    )


def _name(table: exp.Table) -> str:
    return f"{table.db}.{table.name}" if table.db else table.name


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("lineage")
    generate(out, persons=300, days=20, start=date.fromisoformat(START_DATE))
    landing = out / "landing"
    recorder = _Recorder(out / "statements.jsonl")
    attach = warehouse._attach
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            warehouse,
            "_attach",
            lambda *args, **kwargs: _RecordingInstance(attach(*args, **kwargs), recorder),
        )
        run_landing(landing, out / "warehouse.duckdb")
    return recorder


def _catalog_writers(graph) -> dict[str, set]:
    """Each catalogued table's owning asset, or every asset of its owning group."""
    keys = graph.get_all_asset_keys()
    return {
        table: {
            key
            for key in keys
            if key.to_user_string() == table.owner or graph.get(key).group_name == table.owner
        }
        for table in CATALOG
    }


def undeclared_reads(statements: list[tuple[frozenset, str]], graph) -> list[str]:
    """Each table an asset reads whose writer is neither the asset nor upstream of it,
    unless the catalog declares the asset's group reads it back from earlier runs."""
    reads: dict[frozenset, set[str]] = defaultdict(set)
    writers: dict[str, set] = defaultdict(set, _catalog_writers(graph))
    for keys, sql in statements:
        read, written = tables(sql)
        reads[keys] |= read
        for table in written:
            writers[table] |= set(keys)
    read_back = {table: set(table.read_back_by) for table in CATALOG}
    missing = []
    for keys, read in reads.items():
        if not keys:
            continue
        upstream = set(keys).union(*(graph.get_ancestor_asset_keys(key) for key in keys))
        groups = {graph.get(key).group_name for key in keys}
        for table in sorted(read):
            owners = writers.get(table)
            if groups <= read_back.get(table, set()):
                continue
            if owners and not owners & upstream:
                names = ", ".join(sorted(k.to_user_string() for k in keys))
                owner_names = ", ".join(sorted(k.to_user_string() for k in owners))
                missing.append(f"{names} reads {table} (written by {owner_names})")
    return missing


def test_every_table_read_is_written_upstream(recorded):
    missing = undeclared_reads(recorded.statements, build_definitions().resolve_asset_graph())
    assert not missing, "reads with no declared upstream:\n" + "\n".join(missing)


def test_a_read_the_graph_does_not_declare_fails_the_check(recorded):
    """Golden profiles reading the scores, which are built downstream of them: the
    check names the reader, the table and its writer."""
    graph = build_definitions().resolve_asset_graph()
    golden = frozenset({dg.AssetKey("golden_profiles")})
    extra = (
        golden,
        "SELECT g.*, s.churn_risk FROM profiles.customer_scores s JOIN x g USING (person_id)",
    )
    missing = undeclared_reads([*recorded.statements, extra], graph)
    assert missing == [
        "golden_profiles reads profiles.customer_scores (written by customer_scores)"
    ]


def test_the_recording_saw_the_pipeline(recorded):
    """The check above is only as good as what it saw: statements from every layer."""
    written = set()
    for _, sql in recorded.statements:
        written |= tables(sql)[1]
    for table in (
        "sources.crm_contacts",
        "staging.identity_records",
        "identity.person_id_map",
        "profiles.golden_profiles",
    ):
        assert table in written, table
