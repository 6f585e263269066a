"""Where day files live in the landing folder, and which are present."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cdp_platform.sources.contracts import SOURCES, SourceSpec

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(csv|jsonl)$")


@dataclass(frozen=True)
class DayFile:
    source: str
    day: str
    path: Path

    @property
    def label(self) -> str:
        """The path relative to the landing folder, as stored in the warehouse."""
        return f"{self.source}/{self.path.name}"


def day_file_path(landing: Path, spec: SourceSpec, day: str) -> Path:
    return landing / spec.name / f"{day}.{spec.extension}"


def list_day_files(landing: Path, sources: list[str] | None = None) -> list[DayFile]:
    """Every `<source>/<YYYY-MM-DD>.<ext>` file present, sorted by source and day."""
    found = []
    for name in sources or list(SOURCES):
        folder = landing / name
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = _DAY_FILE.match(path.name)
            if match and match.group(2) == SOURCES[name].extension and path.is_file():
                found.append(DayFile(name, match.group(1), path))
    return sorted(found, key=lambda f: (f.source, f.day))
