"""Where day files live in the landing folder, and which are present.

`scan_landing` walks the landing folder once and sorts what it finds into the
day files to load and the problems: a file whose name is not a day, a wrong
extension, a folder no source owns, a day outside the partitions. A problem
never stops the other files from loading; it is reported with the path and a
plain reason (by `cdp run`, the landing sensor and the source's metadata).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cdp_platform.source_contracts import SOURCES, SourceSpec

# A name that starts like a day: the rest is its extension, whatever it is.
_DAY_STEM = re.compile(r"^(\d{4}-\d{2}-\d{2})(\..*)?$")
# Loose enough to catch `2026-1-5` or `2026-13-45` as a day that is wrong.
_DAY_LIKE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})(\..*)?$")


@dataclass(frozen=True)
class DayFile:
    source: str
    day: str
    path: Path

    @property
    def label(self) -> str:
        """The path relative to the landing folder, as stored in the warehouse."""
        return f"{self.source}/{self.path.name}"


@dataclass(frozen=True)
class LandingProblem:
    """A landing entry that is not loaded, and why (never its contents)."""

    path: Path
    label: str  # relative to the landing folder
    reason: str
    source: str | None = None  # the source folder it is in, if a known one

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LandingScan:
    files: list[DayFile] = field(default_factory=list)
    problems: list[LandingProblem] = field(default_factory=list)

    def problems_of(self, source: str) -> list[LandingProblem]:
        return [p for p in self.problems if p.source == source]


def day_file_path(landing: Path, spec: SourceSpec, day: str) -> Path:
    return landing / spec.name / f"{day}.{spec.extension}"


def _known() -> str:
    return ", ".join(SOURCES)


def _unknown_folder_reason(name: str) -> str:
    reason = f"unknown source folder '{name}'; known: {_known()}"
    close = difflib.get_close_matches(name, list(SOURCES), n=1, cutoff=0.8)
    return reason + (f" (did you mean '{close[0]}'?)" if close else "")


def _name_problem(spec: SourceSpec, name: str, is_dir: bool) -> tuple[str | None, str]:
    """(day, None-or-reason): the day a file name stands for, or why it stands for none."""
    expected = f"named YYYY-MM-DD.{spec.extension}"
    if is_dir:
        return None, f"a folder, not a day file {expected}"
    match = _DAY_STEM.match(name) or _DAY_LIKE.match(name)
    if not match:
        return None, f"not {expected}"
    day, extension = match.group(1), match.group(2) or ""
    try:
        valid = date.fromisoformat(day).isoformat() == day
    except ValueError:
        valid = False
    if not valid:
        return None, f"not a valid day: {day}"
    if extension != f".{spec.extension}":
        return None, f"wrong extension for {spec.name} (expects .{spec.extension})"
    return day, ""


def _range_problem(day: str, keys: Sequence[str]) -> str | None:
    """Why a valid day is not a partition, with the setting that would make it one."""
    if not keys:
        return f"dated {day}, but there are no daily partitions: CDP_START_DATE is after today"
    first, last = keys[0], keys[-1]
    if day < first:
        return (
            f"dated {day}, before the first daily partition {first}; "
            f"set CDP_START_DATE={day} (or earlier) to load it"
        )
    if day > last:
        return (
            f"dated {day}, after the last daily partition {last} (today, UTC); "
            "check the date: it loads once that day comes"
        )
    return None


def scan_landing(
    landing: Path,
    partition_keys: Sequence[str] | None = None,
    sources: list[str] | None = None,
) -> LandingScan:
    """Every valid day file, and every entry that will not be loaded with the reason.

    With `partition_keys` (sorted, as `daily_partitions().get_partition_keys()`
    gives them), a day outside them is a problem too. With `sources`, only
    those folders are looked at, and other folders are not reported. Names
    starting with a dot (editor and upload temporaries) are left alone.
    """
    scan = LandingScan()
    if not landing.is_dir():
        return scan
    wanted = sources or list(SOURCES)
    if sources is None:
        for entry in sorted(landing.iterdir()):
            if entry.name.startswith(".") or entry.name in SOURCES:
                continue
            reason = (
                _unknown_folder_reason(entry.name)
                if entry.is_dir()
                else f"not in a source folder; day files go in <landing>/<source>/, known: {_known()}"
            )
            scan.problems.append(LandingProblem(entry, entry.name, reason))
    for name in wanted:
        spec = SOURCES[name]
        folder = landing / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            label = f"{name}/{path.name}"
            day, reason = _name_problem(spec, path.name, path.is_dir())
            if day is not None and partition_keys is not None:
                reason = _range_problem(day, partition_keys) or ""
            if reason:
                scan.problems.append(LandingProblem(path, label, reason, name))
            else:
                scan.files.append(DayFile(name, day, path))
    scan.files.sort(key=lambda f: (f.source, f.day))
    return scan


def list_day_files(landing: Path, sources: list[str] | None = None) -> list[DayFile]:
    """Every `<source>/<YYYY-MM-DD>.<ext>` file present, sorted by source and day."""
    return scan_landing(landing, sources=sources).files
