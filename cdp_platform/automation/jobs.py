"""Jobs: the named slices of the asset graph that runs, schedules and sensors target."""

from __future__ import annotations

import dagster as dg

SOURCES_GROUP = "sources"

# Every landing source over a partition range, in one run per backfill.
ingest_sources_job = dg.define_asset_job(
    name="ingest_sources",
    selection=dg.AssetSelection.groups(SOURCES_GROUP),
    description="Load landing day files for a range of days into the warehouse.",
)

# Everything downstream of the sources (unpartitioned layers), refreshed as a whole.
refresh_downstream_job = dg.define_asset_job(
    name="refresh_downstream",
    selection=dg.AssetSelection.groups(SOURCES_GROUP).downstream()
    - dg.AssetSelection.groups(SOURCES_GROUP),
    description="Rebuild every layer below the sources from the current warehouse.",
)

# The layers the daily refresh condition covers (`conditions.daily_after_loads`),
# as a job to run them by hand; segments and syncs follow by their conditions.
DAILY_REFRESH_GROUPS = ("staging", "identity", "privacy", "profiles")
daily_refresh_job = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.groups(*DAILY_REFRESH_GROUPS),
    description=(
        "Rebuild identity, privacy and profiles from the loaded sources now (automation "
        "does so daily after the loads); segments and syncs follow by automation."
    ),
)

# Train the identity model again, then rebuild the links and persons with it.
retrain_identity_model_job = dg.define_asset_job(
    name="retrain_identity_model",
    selection=dg.AssetSelection.assets("identity_model").downstream(),
    config={"ops": {"identity_model": {"config": {"retrain": True}}}},
    description="Retrain the Splink model on the current records and re-link with it.",
)

JOBS = [ingest_sources_job, daily_refresh_job, refresh_downstream_job, retrain_identity_model_job]
