"""The code location: every layer's assets, checks, jobs, schedules and sensors."""

from __future__ import annotations

import warnings

import dagster as dg

from cdp_platform import settings
from cdp_platform.activation.assets import sync_assets
from cdp_platform.activation.config import SyncsFile, load_syncs
from cdp_platform.activation.resources import destination_resources
from cdp_platform.automation.jobs import DAILY_REFRESH_GROUPS, JOBS
from cdp_platform.automation.landing_sensor import build_landing_sensor
from cdp_platform.automation.schedules import build_schedules
from cdp_platform.automation.sensors import (
    automation_sensor,
    dead_run_sensor,
    run_failure_alert_sensor,
)
from cdp_platform.conditions import with_daily_refresh
from cdp_platform.freshness import with_daily_freshness
from cdp_platform.identity.assets import (
    identity_edges,
    identity_model,
    identity_records,
    identity_review_queue,
    person_id_map,
)
from cdp_platform.insight.assets import campaign_lift
from cdp_platform.privacy.assets import erased_subjects, privacy_subjects
from cdp_platform.profiles.account_assets import account_traits, accounts, lead_scores
from cdp_platform.profiles.assets import (
    consent_state,
    customer_scores,
    customer_timeline,
    customer_traits,
    golden_profiles,
)
from cdp_platform.resources.warehouse import default_warehouse
from cdp_platform.segments.assets import segment_assets
from cdp_platform.sources.assets import source_assets
from cdp_platform.sources.hubspot_client import HubSpotContactsResource
from cdp_platform.sources.partitions import daily_partitions

# Single-run backfills are the intended design, not an experiment to flag on every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_resources(syncs: SyncsFile | None = None) -> dict[str, object]:
    resources: dict[str, object] = {"warehouse": default_warehouse()}
    resources.update(destination_resources(syncs or load_syncs()))
    if settings.crm_contacts_mode() == "api":
        resources["hubspot"] = HubSpotContactsResource(base_url=settings.hubspot_base_url())
    return resources


def build_definitions() -> dg.Definitions:
    syncs = load_syncs()
    assets = with_daily_refresh(
        with_daily_freshness(
            [
                *source_assets(),
                identity_records,
                identity_model,
                identity_edges,
                identity_review_queue,
                person_id_map,
                golden_profiles,
                customer_traits,
                customer_scores,
                consent_state,
                customer_timeline,
                accounts,
                account_traits,
                lead_scores,
                privacy_subjects,
                erased_subjects,
                *segment_assets(),
                *sync_assets(syncs),
                campaign_lift,
            ]
        ),
        settings.daily_refresh_cron(),
        DAILY_REFRESH_GROUPS,
    )
    return dg.Definitions(
        assets=assets,
        jobs=JOBS,
        schedules=build_schedules(),
        sensors=[
            build_landing_sensor(daily_partitions()),
            automation_sensor,
            run_failure_alert_sensor,
            dead_run_sensor,
        ],
        resources=build_resources(syncs),
        # Every step writes the one DuckDB file in turn (the `warehouse` pool), so
        # a process per step would add start-up time and no parallelism.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
