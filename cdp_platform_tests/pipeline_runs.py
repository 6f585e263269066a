"""Running the whole pipeline from a test over a landing folder of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.pipeline import run_pipeline

# Benchmark writers date their files here.
START_DATE = "2026-08-01"


def run_landing(landing: Path, warehouse: Path, start_date: str = START_DATE) -> None:
    """`cdp run`'s pipeline over `landing` into `warehouse`; fails the test if it fails."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CDP_LANDING_DIR", str(landing))
        env.setenv("CDP_WAREHOUSE", str(warehouse))
        env.setenv("CDP_START_DATE", start_date)
        assert run_pipeline(build_definitions(), landing).success
