"""`dagster dev` on localhost for end-to-end tests, and a small GraphQL client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from cdp_platform.settings import PROJECT_ROOT

RUNS = """
{ runsOrError { ... on Runs { results {
    runId jobName status tags { key value } assetSelection { path } } } } }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DagsterDev:
    url: str
    process: subprocess.Popen
    log: Path

    def graphql(self, query: str, **variables) -> dict:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def runs(self) -> list[dict]:
        return self.graphql(RUNS)["runsOrError"]["results"]

    def wait_until(self, what: str, condition, timeout: float, every: float = 2.0):
        """Poll `condition()` until it returns something truthy; fail with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited while waiting for {what}:\n{self.tail()}")
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def instance_home(home: Path) -> Path:
    """A DAGSTER_HOME with the local instance settings `make ui` uses."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.local.yaml").read_text())
    return home


def start_dagster_dev(
    home: Path, env: dict[str, str], log: Path, daemon: bool = True
) -> DagsterDev:
    """Webserver and, with `daemon`, the daemon (scheduler, sensors, backfills, run
    queue) for this project."""
    port = free_port()
    instance_home(home)
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "dagster"), "dev"] if daemon else [str(bin_dir / "dagster-webserver")]
    out = log.open("w")
    process = subprocess.Popen(
        [*command, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its webserver, daemon and code servers stop together
    )
    dev = DagsterDev(f"http://127.0.0.1:{port}", process, log)
    dev.wait_until("the webserver", lambda: answers(dev.url), timeout=120, every=1)
    return dev


def stop_dagster_dev(dev: DagsterDev) -> None:
    if dev.process.poll() is None:
        os.killpg(dev.process.pid, signal.SIGINT)
        try:
            dev.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.process.pid, signal.SIGKILL)
            dev.process.wait(timeout=30)


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/server_info", timeout=2).ok
    except requests.ConnectionError:
        return False
