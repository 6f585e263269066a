"""The activation layer's definitions: an asset per sync declared in YAML, and a
resource per destination they send to."""

from __future__ import annotations

import dagster as dg

from cdp_platform.activation.assets import sync_assets
from cdp_platform.activation.config import load_syncs
from cdp_platform.activation.resources import destination_resources


def activation_definitions() -> dg.Definitions:
    syncs = load_syncs()
    return dg.Definitions(assets=sync_assets(syncs), resources=destination_resources(syncs))
