"""The code location: every layer's definitions, merged.

Each layer declares its own in `<layer>/definitions.py` (assets with their
automation conditions and freshness policies, the resources only it uses);
what they share is added here: the warehouse every asset writes, the
configuration they read (`platform_config`) and the in-process executor.
"""

from __future__ import annotations

import warnings

import dagster as dg

from cdp_platform.activation.definitions import activation_definitions
from cdp_platform.automation.definitions import automation_definitions
from cdp_platform.identity.definitions import identity_definitions
from cdp_platform.insight.definitions import insight_definitions
from cdp_platform.privacy.definitions import privacy_definitions
from cdp_platform.profiles.definitions import profiles_definitions
from cdp_platform.resources.configuration import default_platform_config
from cdp_platform.resources.warehouse import default_warehouse
from cdp_platform.segments.definitions import segments_definitions
from cdp_platform.sources.definitions import sources_definitions

# Single-run backfills are the intended design, not an experiment to flag on every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        sources_definitions(),
        identity_definitions(),
        privacy_definitions(),
        profiles_definitions(),
        segments_definitions(),
        activation_definitions(),
        insight_definitions(),
        automation_definitions(),
        dg.Definitions(
            resources={
                "warehouse": default_warehouse(),
                "platform_config": default_platform_config(),
            },
            # Every step writes the one DuckDB file in turn (the `warehouse` pool), so
            # a process per step would add start-up time and no parallelism.
            executor=dg.in_process_executor,
        ),
    )


defs = build_definitions()
