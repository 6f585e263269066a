"""The segments layer's definitions: an asset per segment declared in YAML."""

from __future__ import annotations

import dagster as dg

from cdp_platform.freshness import fresh_daily
from cdp_platform.segments.assets import segment_assets


def segments_definitions() -> dg.Definitions:
    return dg.Definitions(assets=fresh_daily(segment_assets()))
