"""Computed traits, declared in YAML and compiled to SQL.

A trait is either an aggregate over one activity (`activity.py`) per
person, optionally within the last `window_days` before the "as of" day and
filtered by `where`, or an `expression` over earlier traits (and `as_of`),
which may use window functions across persons (quintile scores). Adding a
trait is a change to `config/profiles.yaml`:

    - name: revenue_90d
      description: Spend in the last 90 days, web and store
      activity: purchases
      aggregate: sum
      column: amount
      window_days: 90
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import duckdb
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from cdp_platform.profiles.activity import ACTIVITIES, COLUMN_TYPES, activity_sql
from cdp_platform.sql_expressions import checked_condition, checked_value
from cdp_platform.tables.profiles import CUSTOMER_TRAITS
from cdp_platform.tables.sources import PARTITION_LOADS

TRAITS_TABLE = CUSTOMER_TRAITS
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
Aggregate = Literal["count", "count_distinct", "sum", "avg", "min", "max", "latest", "earliest"]
# What a trait holds, for segments to check their conditions against.
ValueType = Literal["integer", "number", "text", "date", "timestamp", "boolean", "list", "any"]


def _identifier(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{value!r} is not a lower-case identifier")
    return value


# A name that becomes a column: lower-case letters, digits and underscores.
Identifier = Annotated[str, AfterValidator(_identifier)]


class Trait(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier
    description: str = ""
    activity: str | None = None
    aggregate: Aggregate | None = None
    column: str | None = None
    where: str | None = None  # SQL over the activity's columns
    window_days: int | None = Field(default=None, gt=0)
    expression: str | None = None  # SQL over earlier traits and as_of
    max_null_share: float | None = Field(default=None, ge=0, le=1)  # checked every run
    type: ValueType | None = None  # inferred from the aggregate unless given

    @model_validator(mode="after")
    def _one_kind(self) -> Trait:
        if self.expression is not None:
            if self.activity or self.aggregate or self.column or self.window_days:
                raise ValueError(f"trait {self.name}: an expression trait takes no activity")
            return self
        if self.activity not in ACTIVITIES:
            raise ValueError(
                f"trait {self.name}: activity {self.activity!r} is not one of {sorted(ACTIVITIES)}"
            )
        if self.aggregate is None:
            raise ValueError(f"trait {self.name}: needs an aggregate or an expression")
        columns = ACTIVITIES[self.activity][1]
        if self.aggregate != "count" and self.column not in columns:
            raise ValueError(
                f"trait {self.name}: column {self.column!r} is not one of {list(columns)} "
                f"of activity {self.activity}"
            )
        if self.where is not None:
            try:  # what runs is the checked rendering
                self.where = checked_condition(self.where, {"person_id", *columns})
            except ValueError as exc:
                raise ValueError(f"trait {self.name}: where: {exc}") from None
        return self


def check_expressions(traits: list[Trait]) -> None:
    """Each expression trait reads only `as_of`, the aggregates and the expression
    traits declared before it; replaced by its checked rendering."""
    known = {"person_id", "as_of", *(t.name for t in traits if t.expression is None)}
    for trait in traits:
        if trait.expression is None:
            continue
        try:
            trait.expression = checked_value(trait.expression, known)
        except ValueError as exc:
            raise ValueError(f"trait {trait.name}: expression: {exc}") from None
        known.add(trait.name)


def trait_type(trait: Trait) -> str:
    """What the trait holds: declared, or inferred from its aggregate and column."""
    if trait.type is not None:
        return trait.type
    if trait.expression is not None:
        return "any"
    if trait.aggregate in ("count", "count_distinct"):
        return "integer"
    if trait.aggregate in ("sum", "avg"):
        return "number"
    return COLUMN_TYPES.get(trait.column, "any")


def _aggregate_sql(trait: Trait) -> str:
    conditions = [f"({trait.where})"] if trait.where else []
    if trait.window_days:
        conditions.append(
            f"occurred_at >= DATE '{{as_of}}' + INTERVAL 1 DAY - INTERVAL {trait.window_days} DAY"
        )
    column = trait.column
    expression = {
        "count": "count(*)",
        "count_distinct": f"count(DISTINCT {column})",
        "sum": f"sum({column})",
        "avg": f"avg({column})",
        "min": f"min({column})",
        "max": f"max({column})",
        "latest": f"arg_max({column}, occurred_at)",
        "earliest": f"arg_min({column}, occurred_at)",
    }[trait.aggregate]
    where = f" FILTER (WHERE {' AND '.join(conditions)})" if conditions else ""
    return f"{expression}{where} AS {trait.name}"


def traits_sql(traits: list[Trait], as_of: str, persons: str, tables: set[str]) -> str:
    """SQL: one row per person of `persons` with every trait, as of day `as_of`.

    `tables`: the loaded source tables; an activity with none counts as none."""
    aggregates = [t for t in traits if t.expression is None]
    ctes, joins, present = [], [], set()
    for name in dict.fromkeys(t.activity for t in aggregates):
        source = activity_sql(name, as_of, tables)
        if source is None:
            continue
        present.add(name)
        mine = [t for t in aggregates if t.activity == name]
        columns = ", ".join(_aggregate_sql(t).replace("{as_of}", as_of) for t in mine)
        ctes.append(f"a_{name} AS (SELECT person_id, {columns} FROM ({source}) GROUP BY person_id)")
        joins.append(f"LEFT JOIN a_{name} USING (person_id)")
    counts = {t.name for t in aggregates if t.aggregate in ("count", "count_distinct")}
    select = []
    for t in aggregates:
        if t.activity in present:
            select.append(f"coalesce({t.name}, 0) AS {t.name}" if t.name in counts else t.name)
        else:
            select.append(f"{'0' if t.name in counts else 'NULL'} AS {t.name}")
    body = (
        f"SELECT p.person_id, DATE '{as_of}' AS as_of, {', '.join(select) or 'NULL AS _none'} "
        f"FROM {persons} p {' '.join(joins)}"
    )
    # Each expression trait is a layer over the ones before it.
    for t in (t for t in traits if t.expression is not None):
        body = f"SELECT *, ({t.expression}) AS {t.name} FROM ({body})"
    with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
    return f"{with_clause}{body}"


def loaded_sources(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sources'"
        ).fetchall()
    }


def loaded_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The loaded sources, plus the privacy tables (schema-qualified) once they exist."""
    privacy = {
        f"privacy.{t}"
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'privacy'"
        ).fetchall()
    }
    return loaded_sources(conn) | privacy


def build_traits(
    conn: duckdb.DuckDBPyConnection, traits: list[Trait], as_of: str, persons: str
) -> int:
    """Write `profiles.customer_traits`; returns the number of persons."""
    sql = traits_sql(traits, as_of, persons, loaded_sources(conn))
    conn.execute("CREATE SCHEMA IF NOT EXISTS profiles")
    try:
        conn.execute(f"CREATE OR REPLACE TABLE {TRAITS_TABLE} AS {sql} ORDER BY person_id")
    except duckdb.Error as exc:
        raise ValueError(f"traits in config/profiles.yaml do not compile: {exc}") from exc
    return conn.execute(f"SELECT count(*) FROM {TRAITS_TABLE}").fetchone()[0]


def latest_loaded_day(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The last day any source file was loaded for: the default "as of" day."""
    if "partition_loads" not in loaded_sources(conn):
        return None
    day = conn.execute(f"SELECT max(partition_date) FROM {PARTITION_LOADS}").fetchone()[0]
    return str(day) if day else None
