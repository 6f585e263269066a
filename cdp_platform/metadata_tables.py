"""Tables in a materialization's metadata, typed, as the UI shows them best."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def metadata_table(
    columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]
) -> dg.MetadataValue:
    """`rows` under `columns` ((name, type) pairs: "string", "int", "float") as a
    `MetadataValue.table`, which the UI sorts and renders per column."""
    names = [name for name, _ in columns]
    return dg.MetadataValue.table(
        records=[dg.TableRecord(dict(zip(names, row, strict=True))) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns]),
    )
