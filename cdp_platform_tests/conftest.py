"""Shared fixtures: a landing folder and a warehouse file per test, real files only."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from cdp_platform.resources.warehouse import WarehouseResource, connect


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty landing folder and warehouse path, wired through the environment."""
    path = tmp_path / "landing"
    path.mkdir()
    monkeypatch.setenv("CDP_LANDING_DIR", str(path))
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return path


@pytest.fixture
def warehouse(landing: Path) -> WarehouseResource:
    return WarehouseResource(database=os.environ["CDP_WAREHOUSE"])


@pytest.fixture
def query(landing: Path):
    """Run a read query against the test warehouse and return all rows."""

    def _query(sql: str, params: list | None = None) -> list[tuple]:
        with connect(os.environ["CDP_WAREHOUSE"]) as conn:
            return conn.execute(sql, params or []).fetchall()

    return _query


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst
