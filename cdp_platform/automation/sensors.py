"""Sensors that keep the platform running itself, all on by default."""

from __future__ import annotations

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from cdp_platform import settings
from cdp_platform.automation.alerts import deliver, failure_alert, record_alert
from cdp_platform.automation.recovery import recover_dead_runs

# Evaluates every asset's automation condition (`conditions.py`): the daily
# refresh after the loads, then segments, syncs and lift as their inputs
# change; on by default so a fresh deployment keeps itself current.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Refreshes identity, privacy and profiles once a day after the loads, and "
        "segments, syncs and campaign lift when their inputs change."
    ),
)


def root_cause(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    """The error the asset raised, beneath Dagster's step-execution wrapper."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Records every failed run to the alerts file and posts it to "
        "CDP_ALERT_WEBHOOK_URL when that is set."
    ),
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    # The first failed step's own error says more than "steps failed: [...]".
    errors = [root_cause(e.step_failure_data.error) for e in step_failures]
    alert = failure_alert(
        run_id=run.run_id,
        # Ad-hoc and backfill runs carry an internal job name; say what they were.
        job=run.job_name if not run.job_name.startswith("__") else "an asset run",
        message=next((e.message for e in errors if e), context.failure_event.message),
        failed_steps=[e.step_key for e in step_failures if e.step_key],
        ui_url=settings.ui_url(),
    )
    delivery = deliver(alert, settings.alert_webhook_url())
    record_alert(alert, settings.alerts_path(), delivery)
    context.log.info(f"alert for run {run.run_id[:8]} recorded; delivery: {delivery}")


@dg.sensor(
    name="dead_run_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description=(
        "Marks failed every run in progress whose process is gone (killed, crashed) and "
        "frees its pool slots, so no later run waits for the warehouse for ever."
    ),
)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    recovered = recover_dead_runs(context.instance)
    for run in recovered:
        context.log.warning(
            f"run {run.run_id[:8]} ({run.job_name}) had lost its process: marked failed, "
            "pool slots freed"
        )
    if not recovered:
        return dg.SkipReason("every run in progress still has its process")
    return dg.SkipReason(f"recovered {len(recovered)} dead run(s); nothing to launch")
