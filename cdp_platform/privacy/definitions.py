"""The privacy layer's definitions: requests matched to persons, and erasure."""

from __future__ import annotations

import dagster as dg

from cdp_platform.conditions import refreshing_daily
from cdp_platform.privacy.assets import erased_subjects, privacy_subjects


def privacy_definitions() -> dg.Definitions:
    return dg.Definitions(assets=refreshing_daily([privacy_subjects, erased_subjects]))
