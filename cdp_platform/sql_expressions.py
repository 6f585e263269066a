"""User SQL conditions (a sync's `source.where`, a segment's `sql:` and an event's
`where:`), checked before they reach the warehouse.

A condition is ONE expression that is true or false for a row: comparisons,
AND/OR/NOT, IN/BETWEEN/LIKE/IS NULL, arithmetic, CASE, CAST, list indexing,
intervals and the functions in `ALLOWED_FUNCTIONS`, over the column names the
caller allows. No statements, no `;`, no subqueries, no tables or table
functions, no other functions (so nothing that reads files, settings or the
environment). sqlglot parses it as DuckDB SQL and the checked tree is rendered
back, so what runs is what was checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

# Functions a condition may call, by the name DuckDB runs (sqlglot renders some
# spellings under one name: list_contains and list_has as array_contains, len as
# length, instr as strpos, ifnull as coalesce). Pure functions of their arguments:
# nothing here reads a file, a table, a setting, the environment or the clock.
ALLOWED_FUNCTIONS = frozenset(
    {
        # text
        "lower", "upper", "length", "trim", "ltrim", "rtrim", "substring", "left", "right",
        "replace", "concat", "concat_ws", "starts_with", "ends_with", "prefix", "suffix",
        "contains", "strpos", "split_part", "lpad", "rpad", "reverse", "strip_accents",
        "regexp_matches", "regexp_full_match", "regexp_replace", "regexp_extract",
        "levenshtein", "jaro_winkler_similarity",
        # values and numbers
        "coalesce", "nullif", "greatest", "least", "abs", "round", "floor", "ceil", "trunc",
        "sign", "power", "isnan",
        # dates and times
        "date_trunc", "date_part", "extract", "date_diff", "strftime", "strptime", "make_date",
        "year", "month", "day", "dayofmonth", "dayofweek", "dayofyear", "quarter", "week",
        "weekofyear", "last_day", "epoch",
        # lists
        "array_contains", "list_has_all", "array_length", "list_distinct", "array_to_string",
        "array_slice", "list_extract", "cardinality",
    }
)  # fmt: skip

# Everything else a condition may hold: names, values, operators.
_ALLOWED_NODES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.Not, exp.And, exp.Or, exp.Xor, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.DPipe,
    exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam,
    exp.Interval, exp.Array, exp.Bracket, exp.ArrayOverlaps,
)  # fmt: skip
_TIME_UNITS = {
    "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH",
    "QUARTER", "YEAR", "DECADE", "CENTURY", "DOW", "DOY", "EPOCH",
}  # fmt: skip
_NOT_A_CONDITION = (exp.Literal, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.DPipe)


def _function_name(node: exp.Func) -> str | None:
    """The name DuckDB will run `node` under, or None when it renders as no call."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    match = re.match(r"([A-Za-z_]\w*)\s*(\(|$)", node.sql(dialect="duckdb"))
    return match.group(1).lower() if match else None


# A trait's `expression` computes a value per person and may rank persons with a
# window (`ntile(5) OVER (ORDER BY revenue)`): these functions and nodes, besides.
WINDOW_FUNCTIONS = frozenset(
    {
        "ntile", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "lag",
        "lead", "first_value", "last_value", "sum", "avg", "min", "max", "count", "median",
    }
)  # fmt: skip
_WINDOW_NODES = (exp.Window, exp.WindowSpec, exp.Order, exp.Ordered)
# An account trait's `aggregate` folds an account's contacts into one value.
AGGREGATE_FUNCTIONS = frozenset(
    {
        "count", "sum", "avg", "min", "max", "median", "arg_max", "arg_min", "any_value",
        "bool_or", "bool_and", "count_if", "list", "histogram", "string_agg", "mode",
        "list_position",
    }
)  # fmt: skip
_AGGREGATE_NODES = (exp.Filter, exp.Where, exp.Distinct, exp.Star)


def _problem(
    node: exp.Expression, columns: set[str] | None, windows: bool = False, aggregates: bool = False
) -> str | None:
    """Why `node` (one node of the tree) may not be in a condition, or None."""
    if isinstance(node, exp.Query | exp.Subquery | exp.Exists):
        inside = node.parent is not None or isinstance(node, exp.Exists)
        return (
            "a subquery is not allowed" if inside else "a query is not allowed: write one condition"
        )
    if isinstance(node, exp.Table):
        return "a table or table function is not allowed"
    if aggregates and isinstance(node, _AGGREGATE_NODES):
        return None
    if (
        aggregates
        and isinstance(node, exp.Func)
        and (_function_name(node) or node.key) in AGGREGATE_FUNCTIONS
    ):
        return None
    if windows and isinstance(node, _WINDOW_NODES):
        return None
    if windows and isinstance(node, exp.Func) and node.find_ancestor(exp.Window):
        name = _function_name(node) or node.key
        if name in WINDOW_FUNCTIONS:
            return None
    if node.parent is None and not isinstance(node, exp.Condition):
        kind = node.this if isinstance(node, exp.Command) else node.key
        return f"a statement ({str(kind).upper()}) is not allowed: write one condition"
    if isinstance(node, exp.Column):
        if node.table:
            return f"write column names without a table or alias: {node.sql(dialect='duckdb')!r}"
        if columns is not None and node.name.lower() not in columns:
            return f"unknown column {node.name!r}; known: {sorted(columns)}"
        return None
    if isinstance(node, exp.Var):
        return None if node.name.upper() in _TIME_UNITS else f"{node.name!r} is not allowed here"
    if isinstance(node, _ALLOWED_NODES):
        return None
    if isinstance(node, exp.Func):
        name = _function_name(node) or node.key
        return None if name in ALLOWED_FUNCTIONS else f"function {name} is not allowed"
    return f"{node.sql(dialect='duckdb')[:60]!r} is not allowed in a condition"


def _duckdb_syntax_error(condition: str) -> str | None:
    """DuckDB's own complaint about `condition` as a WHERE clause (parsed, never run)."""
    with duckdb.default_connection().cursor() as cursor:  # its own cursor: thread-safe
        (serialized,) = cursor.execute(
            "SELECT json_serialize_sql(?)", [f"SELECT 1 WHERE ({condition})"]
        ).fetchone()
    parsed = json.loads(serialized)
    return parsed.get("error_message", "not SQL") if parsed.get("error") else None


def _parse(text: str) -> exp.Expression:
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(text)
    except TokenError as error:
        raise ValueError(f"does not parse: {error}") from None
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        raise ValueError("';' is not allowed: write one condition, not several statements")
    depth = 0
    for token in tokens:
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth < 0:
            raise ValueError(f"the ')' at column {token.col} closes a parenthesis never opened")
    if depth:
        raise ValueError("a '(' is never closed")
    try:
        parsed = sqlglot.parse(text, read="duckdb")
    except ParseError as error:
        problem = _duckdb_syntax_error(text) or str(error).splitlines()[0]
        raise ValueError(f"does not parse: {problem}") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise ValueError("is empty")
    return parsed[0]


def _checked(
    text: str, columns: Iterable[str] | None, windows: bool = False, aggregates: bool = False
) -> tuple[exp.Expression, str]:
    allowed = None if columns is None else {c.lower() for c in columns}
    tree = _parse(text)
    for node in tree.walk():
        problem = _problem(node, allowed, windows, aggregates)
        if problem:
            raise ValueError(problem)
    rendered = tree.sql(dialect="duckdb", comments=False)
    # What runs must be what was checked: sqlglot reads its own rendering back the
    # same, and DuckDB's parser sees one expression in it.
    problem = _duckdb_syntax_error(rendered)
    if problem or sqlglot.parse_one(rendered, read="duckdb") != tree:
        raise ValueError(f"does not parse: {problem or 'not read back the same'}")
    return tree, rendered


def checked_condition(text: str, columns: Iterable[str] | None = None) -> str:
    """`text` as one DuckDB condition over `columns` (any unqualified name when None),
    rendered by sqlglot from the checked tree; a ValueError says in plain words why not."""
    tree, rendered = _checked(text, columns, windows=False)
    if isinstance(tree.unnest(), _NOT_A_CONDITION):
        raise ValueError("is a value, not a condition (true or false for each row)")
    return rendered


def checked_value(text: str, columns: Iterable[str] | None = None, aggregates: bool = False) -> str:
    """`text` as one DuckDB value expression over `columns`, as `checked_condition`
    checks a condition, with windows over the rows allowed (`WINDOW_FUNCTIONS`), or
    with `aggregates` an aggregate over them (`AGGREGATE_FUNCTIONS`, FILTER, DISTINCT)."""
    return _checked(text, columns, windows=not aggregates, aggregates=aggregates)[1]
