"""The sources layer's definitions: a partitioned asset per landing source, and
the HubSpot-shaped API client when CRM contacts are pulled from it."""

from __future__ import annotations

import dagster as dg

from cdp_platform import settings
from cdp_platform.sources.assets import source_assets
from cdp_platform.sources.hubspot_client import HubSpotContactsResource


def sources_definitions() -> dg.Definitions:
    crm_from_api = settings.crm_contacts_mode() == "api"
    resources = {}
    if crm_from_api:
        resources["hubspot"] = HubSpotContactsResource(base_url=settings.hubspot_base_url())
    return dg.Definitions(assets=source_assets(crm_from_api), resources=resources)
