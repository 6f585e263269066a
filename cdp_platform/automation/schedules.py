"""Schedules: time-based runs that are on as soon as the code location loads."""

from __future__ import annotations

import dagster as dg

from cdp_platform import settings
from cdp_platform.automation.jobs import daily_refresh_job, retrain_identity_model_job
from cdp_platform.automation.refresh import ingestion_state, refresh_skip_reason
from cdp_platform.source_contracts import SOURCES

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


def build_daily_refresh_schedule() -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_refresh_schedule",
        job=daily_refresh_job,
        cron_schedule=settings.daily_refresh_cron(),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Rebuild identity, privacy and profiles once the day's files are loaded: "
            "skipped while loads are queued or running, or when nothing is new."
        ),
    )
    def daily_refresh_schedule(context: dg.ScheduleEvaluationContext):
        sources = (dg.AssetKey(name) for name in SOURCES)
        state = ingestion_state(context.instance, sources, daily_refresh_job.name)
        reason = refresh_skip_reason(state)
        if reason:
            return dg.SkipReason(reason)
        return dg.RunRequest(run_key=f"loads-{state.last_load:.3f}")

    return daily_refresh_schedule


def build_schedules() -> list[dg.ScheduleDefinition]:
    return [build_daily_refresh_schedule(), weekly_identity_model_retrain]
