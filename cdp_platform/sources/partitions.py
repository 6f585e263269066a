"""The one daily partitioning shared by every landing source and its lineage."""

from __future__ import annotations

import dagster as dg

from cdp_platform import settings


def daily_partitions() -> dg.DailyPartitionsDefinition:
    # end_offset=1 makes today's (still growing) file a partition too, so the
    # landing sensor can load it as soon as it appears.
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date(), timezone="UTC", end_offset=1
    )
