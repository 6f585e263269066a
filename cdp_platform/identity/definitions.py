"""The identity layer's definitions: staged records, the model, links, the review
queue and the person id map."""

from __future__ import annotations

import dagster as dg

from cdp_platform import settings
from cdp_platform.conditions import refreshing_daily
from cdp_platform.identity.assets import (
    identity_edges,
    identity_model,
    identity_records,
    identity_review_queue,
    person_id_map,
)
from cdp_platform.identity.model_store import default_model_store


def identity_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=refreshing_daily(
            [identity_records, identity_model, identity_edges, identity_review_queue, person_id_map]
        ),
        resources={"model_store": default_model_store(settings.warehouse_path())},
    )
