"""A warehouse table as a declared object: its name, the asset that writes it
and, where its shape is fixed, its columns.

A `Table` is its qualified name (`schema.table`, usable wherever SQL or a
function wants the name). Tables with declared columns are created when the
warehouse is opened for writing, so every reader finds them, empty until their
owner first runs; their columns are the asset's column schema in the UI, and a
test holds every built table to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb

from cdp_platform.asset_defaults import PII
from cdp_platform.sql_text import identifier


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""
    pii: bool = False

    def as_dagster(self) -> dg.TableColumn:
        return dg.TableColumn(self.name, self.type, self.description, tags=PII if self.pii else {})


class Table(str):
    """`schema.table`, with the asset that writes it (or the group, where every
    asset of a group writes its own rows), its columns and its primary key."""

    owner: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Groups that read the table as earlier runs left it: a dependency on a layer
    # downstream of them, which the asset graph cannot draw without a cycle.
    read_back_by: tuple[str, ...]

    def __new__(
        cls,
        qualified: str,
        owner: str,
        columns: tuple[Column, ...] = (),
        key: tuple[str, ...] = (),
        read_back_by: tuple[str, ...] = (),
    ) -> Table:
        table = super().__new__(cls, qualified)
        table.owner = owner
        table.columns = columns
        table.key = key
        table.read_back_by = read_back_by
        return table

    @property
    def schema(self) -> str:
        return self.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.split(".", 1)[1]

    @property
    def column_schema(self) -> dg.TableSchema:
        return dg.TableSchema(columns=[c.as_dagster() for c in self.columns])

    @property
    def asset_metadata(self) -> dict[str, object]:
        """The asset's `dagster/table_name` and, where declared, `dagster/column_schema`."""
        metadata: dict[str, object] = {"dagster/table_name": str(self)}
        if self.columns:
            metadata["dagster/column_schema"] = self.column_schema
        return metadata

    def typed_select(self, source: str) -> str:
        """SELECT of the declared columns, in order and of their declared types, from
        `source` (a frame whose types pandas guessed)."""
        columns = ", ".join(
            f"CAST({identifier(c.name)} AS {c.type}) AS {identifier(c.name)}" for c in self.columns
        )
        return f"SELECT {columns} FROM {source}"

    @property
    def ddl(self) -> str:
        columns = [f"{identifier(c.name)} {c.type}" for c in self.columns]
        if self.key:
            columns.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self} ({', '.join(columns)})"


def create_tables(conn: duckdb.DuckDBPyConnection, tables: list[Table]) -> None:
    """Create each table with declared columns that is missing, and add the
    columns a newer declaration introduced to one made before it."""
    existing: dict[str, set[str]] = {}
    for schema, name, column in conn.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database()"
    ).fetchall():
        existing.setdefault(f"{schema}.{name}", set()).add(column)
    for table in tables:
        if not table.columns:
            continue
        if table not in existing:
            conn.execute(table.ddl)
            continue
        for column in table.columns:
            if column.name not in existing[table]:
                conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN {identifier(column.name)} {column.type}"
                )
