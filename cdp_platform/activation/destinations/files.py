"""A file export: each batch a CSV or Parquet part in a folder per operation.

A part is named by the sync and the batch's idempotency key
(`<operation>/part-<sync>-<key>.<format>`), so a batch sent again replaces its
own file rather than adding a second copy, and syncs sharing a destination
folder can tell their parts apart. Columns: `key`, `person_id`, `operation`
and the mapped fields. Every file is written to a hidden temporary name and
then renamed over the part, so a reader never sees half a file.

A removal is also applied to what the folder already holds, so the export is
never left offering a record its sync took out:
- `delete` (mirror) and `remove` (audience) rewrite this sync's earlier parts
  without the removed keys (a part left empty is deleted), then record the
  removal in a part of its own (`key`, `person_id`, `operation`);
- `erase` (a DELETE privacy request) rewrites every earlier part in the folder,
  whichever sync wrote it, without the erased persons' rows (matched by key and
  by person id), removal parts included, and records the erasure by person id
  only. A `remove` or `delete` of a person the sync knows to be erased is
  treated as an erasure.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd

from cdp_platform.activation.destinations.base import ItemResult, Limits
from cdp_platform.activation.plan import Change

REMOVING = frozenset({"delete", "remove"})
ERASE = "erase"
SUFFIXES = (".csv", ".parquet")

# One lock per export folder: a removal rewrites parts other batches may be writing.
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock(folder: Path) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(folder.resolve(), threading.Lock())


class FileExportDestination:
    def __init__(
        self,
        folder: Path,
        file_format: Literal["csv", "parquet"] = "csv",
        limits: Limits | None = None,
        sync: str | None = None,
        erased: Iterable[str] = (),
    ):
        self.name = "files"
        self.folder = Path(folder)
        self.account = f"files:{self.folder}"
        self.file_format = file_format
        self.limits = limits or Limits(
            batch_size=10_000, requests_per_second=1000, max_concurrency=1
        )
        self.sync = sync
        # Persons erased by a privacy request: their removals are erasures.
        self.erased = frozenset(erased)

    def _prefix(self) -> str:
        return f"part-{self.sync}-" if self.sync else "part-"

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        erasing = operation == ERASE or (
            operation in REMOVING and any(c.person_id in self.erased for c in changes)
        )
        with _lock(self.folder):
            if erasing:
                self._erase(operation, changes, idempotency_key)
            else:
                if operation in REMOVING:
                    self._scrub(
                        {c.key for c in changes}, set(), own_only=True, skip=REMOVING | {ERASE}
                    )
                records = [
                    {"key": c.key, "person_id": c.person_id, "operation": operation, **c.fields}
                    for c in changes
                ]
                self._write(operation, pd.DataFrame(records), idempotency_key)
        return [ItemResult(c.key, True) for c in changes]

    def forget(self, persons: set[str]) -> None:
        """Drop every row of `persons` (erased) from every part, removal parts included:
        the export may hold a person its sync no longer tracks (removed by a mirror
        before the erasure), whose `delete` part still names their key."""
        with _lock(self.folder):
            self._scrub(set(), set(persons), own_only=False)
            # On record as an erasure, by person id alone, as `erase` records are.
            record = pd.DataFrame({"person_id": sorted(persons), "operation": ERASE})
            name = hashlib.sha256("\n".join(sorted(persons)).encode()).hexdigest()[:32]
            self._write(ERASE, record, f"forget-{name}")

    def _erase(self, operation: str, changes: list[Change], idempotency_key: str) -> None:
        erased = [c for c in changes if operation == ERASE or c.person_id in self.erased]
        others = [c for c in changes if c not in erased]
        self._scrub({c.key for c in erased}, {c.person_id for c in erased}, own_only=False)
        if others:  # a removal batch that mixes erased persons with others leaving
            self._scrub({c.key for c in others}, set(), own_only=True, skip=REMOVING | {ERASE})
            records = [
                {"key": c.key, "person_id": c.person_id, "operation": operation} for c in others
            ]
            self._write(operation, pd.DataFrame(records), idempotency_key)
        # The erasure's own record holds the person id and nothing else. The key is
        # not kept: it is often an email or a phone, a direct identifier, and even
        # hashed it stays one (an unsalted hash of an email is reversed by hashing
        # a list of candidates; a salted one matches nothing a reader holds). The
        # person id is the platform's opaque surrogate (derived from a source record
        # key, never from contact details); every earlier part carried it, so a
        # reader can delete whatever it loaded for the person, and once erased the
        # warehouse no longer links it to anyone.
        record = pd.DataFrame(
            {"person_id": sorted({c.person_id for c in erased}), "operation": ERASE}
        )
        self._write(ERASE, record, idempotency_key)

    def _scrub(
        self,
        keys: set[str],
        persons: set[str],
        own_only: bool,
        skip: frozenset[str] = frozenset({ERASE}),
    ) -> None:
        """Rewrite every earlier part holding `keys` (or `persons`) without them.

        Each part is replaced whole (temporary file, then rename), or deleted when
        nothing is left in it; the erasure records themselves (`erase/`) hold no
        identifier and are left as they are."""
        if not self.folder.exists():
            return
        prefix = self._prefix() if own_only else "part-"
        for part in sorted(self.folder.glob(f"*/{prefix}*")):
            if part.suffix not in SUFFIXES or part.parent.name in skip:
                continue
            frame = _read(part)
            hit = pd.Series(False, index=frame.index)
            if "key" in frame.columns and keys:
                hit |= frame["key"].astype(str).isin(keys)
            if "person_id" in frame.columns and persons:
                hit |= frame["person_id"].astype(str).isin(persons)
            if not hit.any():
                continue
            if hit.all():
                part.unlink()
            else:
                _replace(part, frame[~hit])

    def _write(self, operation: str, frame: pd.DataFrame, idempotency_key: str) -> None:
        folder = self.folder / operation
        folder.mkdir(parents=True, exist_ok=True)
        _replace(folder / f"{self._prefix()}{idempotency_key}.{self.file_format}", frame)


def _read(part: Path) -> pd.DataFrame:
    if part.suffix == ".parquet":
        return pd.read_parquet(part)
    # As text, so a part rewritten without some rows keeps the others' values as written.
    return pd.read_csv(part, dtype=str, keep_default_na=False)


def _replace(path: Path, frame: pd.DataFrame) -> None:
    """Write `frame` to `path` atomically: a hidden temporary file, then a rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".parquet":
        frame.to_parquet(temporary, index=False)
    else:
        frame.to_csv(temporary, index=False)
    with open(temporary, "rb") as written:
        os.fsync(written.fileno())
    temporary.replace(path)  # a reader never sees half a file


def read_export(folder: Path, operation: str) -> pd.DataFrame:
    """Every part of one operation in an export folder, as one frame."""
    parts = sorted(p for p in (Path(folder) / operation).glob("part-*") if p.suffix in SUFFIXES)
    frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in parts]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
