"""Reading what a materialization's metadata says."""

from __future__ import annotations

import dagster as dg


def metadata_rows(table: dg.TableMetadataValue) -> list[dict]:
    """A metadata table's rows as dicts."""
    return [record.data for record in table.records]
