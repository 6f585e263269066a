"""Declarative automation conditions: how every layer below the sources stays current.

Identity, privacy and profiles refresh once a day after the loads
(`daily_after_loads`); segments, syncs and campaign lift follow their inputs
(`after_inputs_change`); all of them stop at a failed blocking check (`gated`)."""

from __future__ import annotations

import dagster as dg

from cdp_platform import settings


def after_inputs_change() -> dg.AutomationCondition:
    """Materialize once the inputs have changed and none is still running.

    `eager()` also waits for every upstream partition to exist; the daily
    source partitions far upstream never all do (a day without a file is an
    empty partition), so that clause is dropped.
    """
    return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def gated(when: dg.AutomationCondition) -> dg.AutomationCondition:
    """`when`, but never past a failed blocking check upstream.

    A failed blocking check still records its asset's materialization, so
    without this gate the layer below would run on the data it rejected.
    """
    return when & dg.AutomationCondition.all_deps_blocking_checks_passed()


def daily_after_loads(cron: str) -> dg.AutomationCondition:
    """Once a tick of `cron` (UTC) has passed, when something upstream has changed
    since the asset was last requested, and nothing upstream is still loading or
    queued to load: a day without new files costs nothing, and a refresh never
    reads half a day. What is held back runs as soon as the loads finish."""
    tick = dg.AutomationCondition.cron_tick_passed(cron, "UTC")
    return (
        tick.since_last_handled()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"daily after the loads ({cron} UTC)")


def refreshing_daily(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """`assets`, each refreshing by `daily_after_loads` at `CDP_DAILY_REFRESH_CRON`,
    gated on blocking checks upstream."""
    condition = gated(daily_after_loads(settings.daily_refresh_cron()))
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=condition), assets
    )
