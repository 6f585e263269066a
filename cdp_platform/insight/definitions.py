"""The insight layer's definitions: campaign lift."""

from __future__ import annotations

import dagster as dg

from cdp_platform.insight.assets import campaign_lift


def insight_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[campaign_lift])
