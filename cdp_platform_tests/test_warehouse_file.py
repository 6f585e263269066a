"""The warehouse opens whatever its file is called."""

from __future__ import annotations

from cdp_platform.resources.warehouse import connect
from cdp_platform.sql_text import quoted


def test_a_warehouse_whose_path_holds_a_quote_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "o'brien's data" / "warehouse.duckdb"
    with connect(path) as conn:
        note = quoted("it's here")
        conn.execute(f"CREATE TABLE sources.notes AS SELECT {note} AS note")
    with connect(path, read_only=True) as conn:
        assert conn.execute("SELECT note FROM sources.notes").fetchone() == ("it's here",)
