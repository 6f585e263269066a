"""Schedules: the one time-based run that carries its own configuration.

Everything else below the sources refreshes by its automation condition
(`conditions.py`); retraining the identity model on purpose needs run config,
which a condition cannot give."""

from __future__ import annotations

import dagster as dg

from cdp_platform.automation.jobs import retrain_identity_model_job

# Weekly, early Monday (UTC): the model follows the data without retraining
# on every run, so matches stay comparable day to day.
weekly_identity_model_retrain = dg.ScheduleDefinition(
    name="weekly_identity_model_retrain",
    job=retrain_identity_model_job,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain the identity model every Monday at 03:00 UTC and re-link with it.",
)


def build_schedules() -> list[dg.ScheduleDefinition]:
    return [weekly_identity_model_retrain]
