"""The file export destination: CSV and Parquet parts, no duplicates on a resend."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.files import FileExportDestination, read_export
from cdp_platform.activation.engine import run_sync
from cdp_platform.activation.plan import Change, Row
from cdp_platform.resources.warehouse import create_declared_tables


def rows(n: int) -> list[Row]:
    return [Row(f"k{i}", f"p{i}", {"email": f"e{i}@example.org", "score": i}) for i in range(n)]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_parts_hold_every_record_once_and_removals_apart(tmp_path, file_format):
    db = duckdb.connect()
    create_declared_tables(db)
    export = FileExportDestination(tmp_path, file_format, Limits(40, 1000))
    run_sync(db, "drop", "mirror", rows(100), export, "r1")
    upserts = read_export(tmp_path, "upsert")
    assert sorted(upserts["key"]) == sorted(f"k{i}" for i in range(100))
    assert set(upserts.columns) == {"key", "person_id", "operation", "email", "score"}
    assert len(list((tmp_path / "upsert").glob(f"part-*.{file_format}"))) == 3  # 40 + 40 + 20

    run_sync(db, "drop", "mirror", rows(90), export, "r2")
    assert sorted(read_export(tmp_path, "delete")["key"]) == sorted(f"k{i}" for i in range(90, 100))
    # Nothing new to upsert; the earlier part that held k90..k99 no longer offers them.
    upserts = read_export(tmp_path, "upsert")
    assert sorted(upserts["key"]) == sorted(f"k{i}" for i in range(90))
    assert len(list((tmp_path / "upsert").glob(f"part-*.{file_format}"))) == 3
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporaries


def test_a_batch_sent_again_replaces_its_own_part(tmp_path):
    export = FileExportDestination(tmp_path, "csv")
    batch = [Change("upsert", "k1", "p1", {"a": 1}, "h1")]
    export.send("upsert", batch, "same-key")
    export.send("upsert", batch, "same-key")
    assert len(read_export(tmp_path, "upsert")) == 1
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["part-same-key.csv"]


def people(names: list[str]) -> list[Row]:
    return [
        Row(
            f"{n}@example.org",
            f"p{i}",
            {"email": f"{n}@example.org", "phone": f"+4477009{i:05d}", "first_name": n.title()},
        )
        for i, n in enumerate(names)
    ]


def everything_in(folder) -> str:
    """Every value of every export file, read as its format, plus the CSVs' raw text."""
    text = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text.append(pd.read_parquet(path).astype(str).to_csv(index=False))
        else:
            text.append(path.read_text())
    return "\n".join(text)


def test_syncs_sharing_a_folder_remove_only_their_own_records(tmp_path):
    db = duckdb.connect()
    create_declared_tables(db)
    first = FileExportDestination(tmp_path, "csv", sync="first")
    second = FileExportDestination(tmp_path, "csv", sync="second")
    run_sync(db, "first", "mirror", people(["ann", "bob"]), first, "r1")
    run_sync(db, "second", "mirror", people(["ann", "bob"]), second, "r1")
    run_sync(db, "first", "mirror", people(["ann"]), first, "r2")  # bob leaves `first` only
    upserts = read_export(tmp_path, "upsert")
    assert sorted(upserts["key"]) == ["ann@example.org", "ann@example.org", "bob@example.org"]
    assert list(read_export(tmp_path, "delete")["key"]) == ["bob@example.org"]


def test_an_audience_removal_of_an_erased_person_is_an_erasure(tmp_path):
    db = duckdb.connect()
    create_declared_tables(db)
    audience = people(["ann", "bob"])
    run_sync(db, "ads", "add", audience, FileExportDestination(tmp_path, "parquet"), "r1")
    export = FileExportDestination(tmp_path, "parquet", erased={"p1"})
    report = run_sync(db, "ads", "remove", audience[:1], export, "r2", erased=frozenset({"p1"}))
    assert report.results[("remove", "succeeded")] == 1
    held = everything_in(tmp_path)
    assert "bob" not in held.lower() and "+447700900001" not in held
    assert list(read_export(tmp_path, "erase")["person_id"]) == ["p1"]
    assert not (tmp_path / "remove").exists()
