"""The real Dagster webserver serves the code location and its asset groups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.source_contracts import SOURCES
from cdp_platform_tests.e2e.dagster_dev import answers, free_port

ASSET_GROUPS_QUERY = """
{ assetNodes { assetKey { path } groupName isPartitioned } }
"""


@pytest.fixture
def webserver(tmp_path: Path):
    port = free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.local.yaml").read_text())
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CDP_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    process = subprocess.Popen(
        [str(webserver_bin), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"webserver exited: {process.stderr.read().decode()[-2000:]}")
            if answers(url):
                break
            time.sleep(0.5)
        else:
            pytest.fail("webserver did not start within 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
