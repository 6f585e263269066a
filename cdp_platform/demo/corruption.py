"""Malformed rows: the few broken records every real export contains.

Each is an extra row (a copy of a real row of the same file with a key that
belongs to nobody) broken in one way that the landing contract says must
send it to quarantine. The kinds and counts go into the manifest, so tests
can check that exactly these rows, and no others, are quarantined.
"""

from __future__ import annotations

import copy
import json
import random

from cdp_platform.source_contracts import SourceSpec

BAD_TIMESTAMPS = ("not a date", "2026-13-45 25:61:00", "31/02/2026 10:00", "yesterday")
BAD_NUMBERS = ("12.5O", "N/A", "1,2.3", "ten")


def kinds_for(spec: SourceSpec) -> list[str]:
    kinds = ["missing_key", "bad_timestamp"]
    kinds.append("wrong_field_count" if spec.format == "csv" else "invalid_json")
    if spec.format == "jsonl":
        kinds.append("not_an_object")
    if any(c.type in {"number", "integer"} for c in spec.columns):
        kinds.append("bad_number")
    if any(c.choices for c in spec.columns):
        kinds.append("bad_choice")
    return kinds


def malformed_count(rng: random.Random, rows: int) -> int:
    """A few per file: none to two, plus about two per thousand rows."""
    if rows < 5:
        return 0
    return rng.choice((0, 0, 0, 1, 1, 2)) + int(rows * 0.002)


def corrupt(rng: random.Random, spec: SourceSpec, template: dict, kind: str, serial: int):
    """A broken copy of `template`: a dict (CSV row or JSON object) or a raw line."""
    row = copy.deepcopy(template)
    key_field = spec.column(spec.key).name
    row[key_field] = f"BROKEN-{serial:06d}"
    modified = spec.column(spec.modified_at).name if spec.modified_at else None
    if kind == "missing_key":
        if spec.format == "csv":
            row[key_field] = ""
        else:
            del row[key_field]
    elif kind == "bad_timestamp":
        timestamp_field = modified or next(c.name for c in spec.columns if c.type == "timestamp")
        row[timestamp_field] = rng.choice(BAD_TIMESTAMPS)
    elif kind == "bad_number":
        numeric = [c.name for c in spec.columns if c.type in {"number", "integer"}]
        row[rng.choice(numeric)] = rng.choice(BAD_NUMBERS)
    elif kind == "bad_choice":
        field = next(c for c in spec.columns if c.choices)
        row[field.name] = rng.choice(("screen", "ERASE", "alias", "FORGET"))
    elif kind == "wrong_field_count":
        values = [str(row.get(h, "")) for h in spec.headers]
        return values[: len(values) - rng.randrange(2, 5)]  # a row cut short
    elif kind == "invalid_json":
        text = json.dumps(row)
        return text[: len(text) // 2]
    elif kind == "not_an_object":
        return json.dumps([row.get(key_field), "unexpected", "array"])
    return row
