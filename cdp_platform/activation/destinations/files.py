"""A file export: each batch a CSV or Parquet part in a folder per sync and operation.

A part is named by the batch's idempotency key, so a batch sent again replaces
its own file rather than adding a second copy. Columns: `key`, `person_id`,
`operation` and the mapped fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from cdp_platform.activation.destinations.base import ItemResult, Limits
from cdp_platform.activation.plan import Change


class FileExportDestination:
    def __init__(
        self,
        folder: Path,
        file_format: Literal["csv", "parquet"] = "csv",
        limits: Limits | None = None,
    ):
        self.name = "files"
        self.folder = Path(folder)
        self.account = f"files:{self.folder}"
        self.file_format = file_format
        self.limits = limits or Limits(
            batch_size=10_000, requests_per_second=1000, max_concurrency=1
        )

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        frame = pd.DataFrame(
            [
                {"key": c.key, "person_id": c.person_id, "operation": operation, **c.fields}
                for c in changes
            ]
        )
        folder = self.folder / operation
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{idempotency_key}.{self.file_format}"
        partial = path.with_suffix(path.suffix + ".partial")
        if self.file_format == "parquet":
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        partial.replace(path)  # a reader never sees half a file
        return [ItemResult(c.key, True) for c in changes]


def read_export(folder: Path, operation: str) -> pd.DataFrame:
    """Every part of one operation in an export folder, as one frame."""
    parts = sorted((Path(folder) / operation).glob("part-*"))
    frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in parts]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
