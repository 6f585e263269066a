"""The real Dagster webserver serves the code location and its asset groups."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from cdp_platform.source_contracts import SOURCES
from cdp_platform_tests.e2e.dagster_dev import start_dagster_dev, stop_dagster_dev

ASSET_GROUPS_QUERY = """
{ assetNodes { assetKey { path } groupName isPartitioned } }
"""


@pytest.fixture
def webserver(tmp_path: Path):
    env = {"CDP_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    server = start_dagster_dev(
        tmp_path / "dagster_home", env, tmp_path / "webserver.log", daemon=False
    )
    try:
        yield server.url
    finally:
        stop_dagster_dev(server)


def test_webserver_serves_every_source_asset_in_the_sources_group(webserver: str):
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background after start-up
        response = requests.post(
            f"{webserver}/graphql", json={"query": ASSET_GROUPS_QUERY}, timeout=30
        )
        response.raise_for_status()
        nodes = response.json()["data"]["assetNodes"]
        if nodes or time.monotonic() > deadline:
            break
        time.sleep(1)
    groups = {node["assetKey"]["path"][-1]: node["groupName"] for node in nodes}
    assert {name: groups.get(name) for name in SOURCES} == {name: "sources" for name in SOURCES}
    assert all(node["isPartitioned"] for node in nodes if node["groupName"] == "sources")
