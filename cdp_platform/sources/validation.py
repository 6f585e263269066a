"""SQL that types a batch of text rows and names what is wrong with bad ones.

The batch table has the spec's columns as text plus `_partition_date`,
`_file`, `_line`, `_raw` and `_structural_error` (see `readers.py`). The
rules mirror the module docstring of `contracts.py`.
"""

from __future__ import annotations

from cdp_platform.source_contracts import Column, SourceSpec
from cdp_platform.sql_text import identifier as quote
from cdp_platform.sql_text import quoted

SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "number": "DECIMAL(18, 2)",
    "integer": "BIGINT",
    "json": "JSON",
}

# ISO 8601 (with `Z` or an offset) and `YYYY-MM-DD HH:MM:SS` cast directly.
# Compact offsets (Shopify's `+0200`) take an explicit format, and must never
# reach the cast: DuckDB reads them as time-zone names, at ~0.3 ms a value.
_COMPACT_OFFSET = r"[+-]\d{4}$"
_COMPACT_OFFSET_FORMATS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"]


def _present(col: Column) -> str:
    return f"nullif(trim({quote(col.column)}), '')"


def typed_expression(col: Column) -> str:
    """The typed value of a column, NULL when empty or unparseable."""
    value = _present(col)
    if col.type == "timestamp":
        formats = ", ".join(quoted(f) for f in _COMPACT_OFFSET_FORMATS)
        return (
            f"CASE WHEN regexp_matches({value}, {quoted(_COMPACT_OFFSET)}) "
            f"THEN try_strptime({value}, [{formats}]) "
            f"ELSE try_cast({value} AS TIMESTAMPTZ) END"
        )
    if col.type == "text":
        return quote(col.column)
    return f"try_cast({value} AS {SQL_TYPES[col.type]})"


def reason_expression(spec: SourceSpec) -> str:
    """A plain-words reason per bad row (checks joined by '; '), NULL for good rows.

    Reasons name the field, never its value: values are PII more often than not
    and the raw row is kept beside the reason anyway.
    """
    checks: list[str] = []
    key = spec.column(spec.key)
    reason = quoted(f'empty natural key "{key.name}"')
    checks.append(f"CASE WHEN {_present(key)} IS NULL THEN {reason} END")
    for col in spec.columns:
        present = _present(col)
        if col.required and col.column != spec.key:
            reason = quoted(f'missing required field "{col.name}"')
            checks.append(f"CASE WHEN {present} IS NULL THEN {reason} END")
        if col.type in {"timestamp", "number", "integer"}:
            kind = {"timestamp": "a timestamp", "number": "a number", "integer": "a whole number"}
            reason = quoted(f'"{col.name}" is not {kind[col.type]}')
            checks.append(
                f"CASE WHEN {present} IS NOT NULL AND {typed_expression(col)} IS NULL "
                f"THEN {reason} END"
            )
        if col.choices:
            allowed = ", ".join(quoted(c.upper()) for c in col.choices)
            reason = quoted(f'"{col.name}" must be one of {"|".join(col.choices)}')
            checks.append(
                f"CASE WHEN {present} IS NOT NULL AND upper({present}) NOT IN ({allowed}) "
                f"THEN {reason} END"
            )
    field_checks = ", ".join(checks)
    return (
        "CASE WHEN _structural_error IS NOT NULL THEN _structural_error "
        f"ELSE nullif(concat_ws('; ', {field_checks}), '') END"
    )


def raw_table_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    """(name, SQL type) of the raw and current tables, in order."""
    return [
        ("_partition_date", "DATE"),
        ("_file", "VARCHAR"),
        ("_line", "INTEGER"),
        ("source_record_id", "VARCHAR"),
        *[(c.column, SQL_TYPES[c.type]) for c in spec.columns],
    ]


def json_fields_select(spec: SourceSpec, batch: str) -> str:
    """Extract the spec's fields, as text, from the `_raw` JSON of each line.

    All paths are read in one `json_extract_string` call, so each line is
    parsed once. Only lines that parsed as a JSON object are touched (DuckDB
    evaluates CASE branches just for the rows that take them), so a broken
    line cannot fail the batch. JSON `null` becomes SQL NULL.
    """
    paths = ", ".join(quoted(col.json_path) for col in spec.columns)
    fields = ", ".join(
        f"_fields[{n}] AS {quote(col.column)}" for n, col in enumerate(spec.columns, start=1)
    )
    return (
        f"(SELECT * EXCLUDE (_fields), {fields} FROM (SELECT *, CASE WHEN _structural_error "
        f"IS NULL THEN json_extract_string(_raw, [{paths}]) END AS _fields FROM {batch}))"
    )


def typed_select(spec: SourceSpec, batch: str) -> str:
    """Select every batch row typed, with `_raw` and `_reason` for quarantine."""
    typed = ",\n  ".join(f"{typed_expression(c)} AS {quote(c.column)}" for c in spec.columns)
    return f"""
SELECT
  _partition_date, _file, _line, _raw,
  {reason_expression(spec)} AS _reason,
  trim({quote(spec.key)}) AS source_record_id,
  {typed}
FROM {batch}"""
