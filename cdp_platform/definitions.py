"""The code location: every layer's assets, checks, jobs, schedules and sensors."""

from __future__ import annotations

import warnings

import dagster as dg

from cdp_platform.automation.jobs import JOBS
from cdp_platform.resources.warehouse import default_warehouse
from cdp_platform.sources.assets import source_assets
from cdp_platform.sources.partitions import daily_partitions
from cdp_platform.sources.sensors import build_landing_sensor

# Single-run backfills are the intended design, not an experiment to flag on every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[*source_assets()],
        jobs=JOBS,
        sensors=[build_landing_sensor(daily_partitions())],
        resources={"warehouse": default_warehouse()},
    )


defs = build_definitions()
