"""The profiles layer's definitions: golden profiles and what is built on them."""

from __future__ import annotations

import dagster as dg

from cdp_platform.conditions import refreshing_daily
from cdp_platform.freshness import fresh_daily
from cdp_platform.profiles.account_assets import account_traits, accounts, lead_scores
from cdp_platform.profiles.assets import (
    consent_state,
    customer_scores,
    customer_timeline,
    customer_traits,
    golden_profiles,
)


def profiles_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=fresh_daily(
            refreshing_daily(
                [
                    golden_profiles,
                    customer_traits,
                    customer_scores,
                    consent_state,
                    customer_timeline,
                    accounts,
                    account_traits,
                    lead_scores,
                ]
            )
        )
    )
