"""What starts work: the jobs runs target, the landing sensor, the retrain
schedule, the automation sensor and the sensors that keep runs healthy."""

from __future__ import annotations

import dagster as dg

from cdp_platform.automation.jobs import JOBS
from cdp_platform.automation.landing_sensor import build_landing_sensor
from cdp_platform.automation.schedules import build_schedules
from cdp_platform.automation.sensors import (
    automation_sensor,
    dead_run_sensor,
    run_failure_alert_sensor,
)
from cdp_platform.sources.partitions import daily_partitions


def automation_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=JOBS,
        schedules=build_schedules(),
        sensors=[
            build_landing_sensor(daily_partitions()),
            automation_sensor,
            run_failure_alert_sensor,
            dead_run_sensor,
        ],
    )
