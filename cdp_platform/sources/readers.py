"""Read one landing day file into untyped columns, line by line.

Parsing happens here, in Python, rather than in DuckDB's readers because every
row must keep its exact line number and raw text (for quarantine and audit),
and DuckDB's CSV and JSON readers expose neither for the rows they accept.
Typing and validation then run as SQL in the warehouse (see `typing.py`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cdp_platform.source_contracts import SourceSpec

# Fields larger than csv's default 128 KiB limit appear in real exports
# (long ticket bodies, product lists).
csv.field_size_limit(16 * 1024 * 1024)


class SourceFileError(Exception):
    """A whole day file cannot be read; its partition fails with this message."""


@dataclass
class ParsedFile:
    """A day file as text columns aligned with the spec, plus rejected rows.

    `columns[name][i]` is the text of field `name` on row `i` (None when the
    field is absent); `structural_errors[i]` is set when row `i` could not be
    split into fields at all, in which case its column values are None.
    JSON lines carry no columns (`json_lines`): DuckDB extracts their fields
    from `raws`, which is much faster than doing it here.
    """

    path: Path
    columns: dict[str, list[str | None]]
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    structural_errors: list[str | None] = field(default_factory=list)
    extra_headers: list[str] = field(default_factory=list)
    json_lines: bool = False

    @property
    def row_count(self) -> int:
        return len(self.lines)


def read_day_file(path: Path, spec: SourceSpec) -> ParsedFile:
    text = _decode(path)
    if spec.format == "csv":
        return _read_csv(path, text, spec)
    return _read_jsonl(path, text)


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        # utf-8-sig drops the byte-order mark spreadsheet tools prepend.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceFileError(
            f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); "
            "re-export the file as UTF-8"
        ) from exc


def _empty(path: Path, spec: SourceSpec) -> ParsedFile:
    if spec.format == "jsonl":
        return ParsedFile(path=path, columns={}, json_lines=True)
    return ParsedFile(path=path, columns={c.column: [] for c in spec.columns})


class _LineRecorder:
    """Feeds lines to csv.reader and remembers them, to rebuild each row's raw text."""

    def __init__(self, text: str):
        # newline="" splits on line ends without translating them, as csv expects.
        self._lines = iter(io.StringIO(text, newline=""))
        self.consumed: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self.consumed).rstrip("\r\n")
        self.consumed.clear()
        return raw


def _read_csv(path: Path, text: str, spec: SourceSpec) -> ParsedFile:
    if not text.strip():
        return _empty(path, spec)
    recorder = _LineRecorder(text)
    reader = csv.reader(recorder)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise SourceFileError(f"{path}: header row cannot be parsed ({exc})") from exc
    recorder.take()
    missing = [c.name for c in spec.columns if c.name not in header and not c.may_be_absent]
    if missing:
        raise SourceFileError(
            f"{path}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"the header has {len(header)} columns"
        )
    parsed = _empty(path, spec)
    parsed.extra_headers = [h for h in header if h not in spec.headers]
    width = len(header)
    blank_row = [None] * width
    records: list[list[str | None]] = []
    next_line = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            break
        except csv.Error as exc:
            fields, error = None, f"row cannot be parsed as CSV ({exc})"
        raw = recorder.take()
        line, next_line = next_line, reader.line_num + 1
        if fields == []:
            continue  # a blank line is not a record
        if error is None and len(fields) != width:
            error = f"expected {width} fields as in the header, found {len(fields)}"
        parsed.lines.append(line)
        parsed.raws.append(raw)
        parsed.structural_errors.append(error)
        records.append(blank_row if error else fields)
    # Transposing once is far cheaper than appending field by field.
    columns = list(zip(*records, strict=True)) if records else [[] for _ in header]
    for col in spec.columns:
        if col.name in header:
            parsed.columns[col.column] = list(columns[header.index(col.name)])
        else:  # a column added to the contract after this file was written
            parsed.columns[col.column] = [None] * len(records)
    return parsed


def _read_jsonl(path: Path, text: str) -> ParsedFile:
    """Lines with their JSON validity; fields are extracted later, in SQL."""
    parsed = ParsedFile(path=path, columns={}, json_lines=True)
    for number, line in enumerate(text.split("\n"), start=1):
        raw = line.rstrip("\r")
        if not raw.strip():
            continue
        error = None
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                error = f"line is JSON {type(obj).__name__}, not an object"
        except json.JSONDecodeError as exc:
            error = f"invalid JSON ({exc.msg} at column {exc.colno})"
        parsed.lines.append(number)
        parsed.raws.append(raw)
        parsed.structural_errors.append(error)
    return parsed


def parsed_from_records(
    records: list[dict[str, str | None]], spec: SourceSpec, label: str
) -> ParsedFile:
    """Records pulled from an API (keyed by the file's field names) as a parsed file.

    `line` is the record's position in the pull and `raw` its JSON text, so a
    quarantined API record is as traceable as a file row.
    """
    parsed = ParsedFile(path=Path(label), columns={c.column: [] for c in spec.columns})
    for position, rec in enumerate(records, start=1):
        parsed.lines.append(position)
        parsed.raws.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
        parsed.structural_errors.append(None)
        for col in spec.columns:
            value = rec.get(col.name)
            parsed.columns[col.column].append(None if value is None else str(value))
    return parsed
