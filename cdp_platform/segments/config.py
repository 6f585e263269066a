"""Load and check `config/segments.yaml`.

Read when the code location loads, so an invalid spec stops it with one line
naming the file, the segment and the field: a structural mistake (a missing
description, two tests on one trait), an unknown trait, account trait,
activity or consent purpose, a value of the wrong type for its trait, SQL
that is not one plain condition over the columns it may name (see
`cdp_platform.sql_expressions`), a reference to a segment that does not
exist, or a cycle of segments built on each other. A YAML syntax error names
the line and column.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.segments.catalog import Catalog, build_catalog
from cdp_platform.segments.compiler import activity_columns
from cdp_platform.segments.spec import Condition, SegmentsFile, SegmentSpec, walk
from cdp_platform.sql_expressions import checked_condition
from cdp_platform.yaml_files import CONFIG_DIR, read_yaml

NUMERIC = ("integer", "number")


class SegmentSpecError(ValueError):
    """An invalid segment spec: the message names the file, segment and field."""


def segments_path() -> Path:
    return Path(os.environ.get("CDP_SEGMENTS_CONFIG", CONFIG_DIR / "segments.yaml"))


def _field(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part).rstrip("_")
    return path


def _value_error(kind: str, type_: str, value) -> str | None:
    """Why `value` cannot be compared with a `type_` column, or None when it can."""
    if type_ == "any" or value is None:
        return None
    if type_ in NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{kind} holds numbers ({type_}); {value!r} is not a number"
    if type_ == "text" and not isinstance(value, str):
        return f"{kind} holds text; {value!r} is not text (quote it)"
    if type_ == "boolean" and not isinstance(value, bool):
        return f"{kind} holds true/false; {value!r} is neither"
    if type_ in ("date", "timestamp"):
        try:
            value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        except ValueError:
            return f"{kind} holds {type_}s; {value!r} is not YYYY-MM-DD"
    if type_ == "list":
        return f"{kind} holds a list: only is_null applies"
    return None


def _sql_error(sql: str, columns) -> str | None:
    """Why `sql` is not one plain condition over `columns`, or None when it is."""
    try:
        checked_condition(sql, columns)
    except ValueError as error:
        return str(error)
    return None


def _check_condition(c: Condition, catalog: Catalog) -> tuple[str, str] | None:
    """(field, problem) for the first thing wrong with one condition."""
    kind = c.kind
    if kind in ("trait", "account_trait"):
        name = getattr(c, kind)
        columns = catalog.person if kind == "trait" else catalog.account
        if name not in columns:
            return kind, f"unknown {kind.replace('_', ' ')} {name!r}; known: {sorted(columns)}"
        type_ = columns[name]
        if (c.within_days or c.older_than_days is not None) and type_ not in (
            "date",
            "timestamp",
            "any",
        ):
            return "within_days", f"{name} holds {type_}, not dates"
        if type_ == "list" and c.is_null is None:
            return kind, f"{name} holds a list: only is_null applies"
        for test, values in (
            ("value", [c.value]),
            ("between", list(c.between or ())),
            ("in", c.in_ or []),
            ("not_in", c.not_in or []),
        ):
            for value in values:
                problem = _value_error(name, type_, value)
                if problem:
                    return test, problem
    elif kind == "event":
        if c.event not in catalog.activities:
            return "event", f"unknown activity {c.event!r}; known: {list(catalog.activities)}"
        if c.where and (problem := _sql_error(c.where, activity_columns(c.event))):
            return "where", problem
    elif kind == "consent" and c.consent not in catalog.purposes:
        return "consent", f"unknown purpose {c.consent!r}; known: {list(catalog.purposes)}"
    elif kind == "sql" and (problem := _sql_error(c.sql, catalog.person)):
        return "sql", problem
    return None


def references(spec: SegmentSpec) -> list[str]:
    """The segments `spec` is built on, in order of appearance."""
    return list(dict.fromkeys(c.segment for _, c in walk(spec.where) if c.segment))


def _cycle(specs: dict[str, SegmentSpec]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if state.get(name) == "open":
            return trail[trail.index(name) :] + [name]
        if state.get(name) == "done":
            return None
        state[name] = "open"
        for ref in references(specs[name]):
            found = visit(ref, [*trail, name])
            if found:
                return found
        state[name] = "done"
        return None

    for name in specs:
        found = visit(name, [])
        if found:
            return found
    return None


def validate_segments(specs: list[SegmentSpec], catalog: Catalog, path: Path) -> None:
    def fail(segment: str, field: str, problem: str):
        raise SegmentSpecError(f"{path}: segment {segment!r}: {field}: {problem}")

    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            fail(spec.name, "name", "declared twice")
        seen.add(spec.name)
    for spec in specs:
        for where, condition in walk(spec.where):
            problem = _check_condition(condition, catalog)
            if problem:
                fail(spec.name, f"{where}.{problem[0]}", problem[1])
            if condition.segment is not None and condition.segment not in seen:
                fail(spec.name, f"{where}.segment", f"no segment named {condition.segment!r}")
    cycle = _cycle({s.name: s for s in specs})
    if cycle:
        fail(cycle[0], "where", "segments built on each other in a cycle: " + " -> ".join(cycle))


def load_segments(path: Path | None = None) -> list[SegmentSpec]:
    """The declared segments, checked against the profiles configuration."""
    path = path or segments_path()
    try:
        raw = read_yaml(path) or {}
    except OSError as exc:
        raise SegmentSpecError(f"{path}: {exc}") from exc
    except ValueError as exc:  # a YAML syntax error: path:line:column: problem
        raise SegmentSpecError(str(exc)) from exc
    try:
        specs = SegmentsFile.model_validate(raw).segments
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error["loc"]
        segment = "?"
        if len(loc) > 1 and loc[0] == "segments" and isinstance(loc[1], int):
            entry = (raw.get("segments") or [])[loc[1]]
            segment = entry.get("name", f"#{loc[1] + 1}") if isinstance(entry, dict) else "?"
            loc = loc[2:]
        raise SegmentSpecError(
            f"{path}: segment {segment!r}: {_field(loc) or 'segment'}: {error['msg']}"
        ) from exc
    validate_segments(specs, build_catalog(load_profiles_config()), path)
    return specs
