"""The file export destination: CSV and Parquet parts, no duplicates on a resend."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.files import FileExportDestination, read_export
from cdp_platform.activation.engine import run_sync
from cdp_platform.activation.plan import Change, Row


def rows(n: int) -> list[Row]:
    return [Row(f"k{i}", f"p{i}", {"email": f"e{i}@example.org", "score": i}) for i in range(n)]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_parts_hold_every_record_once_and_removals_apart(tmp_path, file_format):
    db = duckdb.connect()
    export = FileExportDestination(tmp_path, file_format, Limits(40, 1000))
    run_sync(db, "drop", "mirror", rows(100), export, "r1")
    upserts = read_export(tmp_path, "upsert")
    assert sorted(upserts["key"]) == sorted(f"k{i}" for i in range(100))
    assert set(upserts.columns) == {"key", "person_id", "operation", "email", "score"}
    assert len(list((tmp_path / "upsert").glob(f"part-*.{file_format}"))) == 3  # 40 + 40 + 20

    run_sync(db, "drop", "mirror", rows(90), export, "r2")
    assert sorted(read_export(tmp_path, "delete")["key"]) == sorted(f"k{i}" for i in range(90, 100))
    assert len(read_export(tmp_path, "upsert")) == 100  # nothing new to upsert


def test_a_batch_sent_again_replaces_its_own_part(tmp_path):
    export = FileExportDestination(tmp_path, "csv")
    batch = [Change("upsert", "k1", "p1", {"a": 1}, "h1")]
    export.send("upsert", batch, "same-key")
    export.send("upsert", batch, "same-key")
    assert len(read_export(tmp_path, "upsert")) == 1
    assert not list(tmp_path.rglob("*.partial"))
