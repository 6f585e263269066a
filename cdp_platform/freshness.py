"""Freshness policies: how stale each layer may get before the UI flags it.

Profiles and segments are rebuilt daily, so a day and a few hours of slack
(a late file, a slow run) warns, and more fails. A sync on a cron gets its
longest gap between ticks plus the same slack.
"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import dagster as dg

SLACK = timedelta(hours=6)
DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=1) + SLACK, warn_window=timedelta(days=1) + SLACK / 3
)


def longest_gap(cron: str, ticks: int = 60) -> timedelta:
    """The longest interval between consecutive ticks of `cron` from now on."""
    from dagster._utils.schedules import cron_string_iterator

    moments = list(itertools.islice(cron_string_iterator(time.time(), cron, "UTC"), ticks))
    return max(b - a for a, b in itertools.pairwise(moments))


def sync_freshness(automation: str) -> dg.FreshnessPolicy:
    if automation == "eager":
        return DAILY
    gap = longest_gap(automation)
    return dg.FreshnessPolicy.time_window(fail_window=gap + SLACK, warn_window=gap + SLACK / 3)


def fresh_daily(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """`assets` with the daily freshness policy (profiles and segments; syncs
    carry their own)."""
    return dg.map_asset_specs(lambda spec: spec.replace_attributes(freshness_policy=DAILY), assets)
