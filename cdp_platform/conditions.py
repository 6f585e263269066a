"""Declarative automation conditions shared by segments and syncs."""

from __future__ import annotations

import dagster as dg


def after_inputs_change() -> dg.AutomationCondition:
    """Materialize once the inputs have changed and none is still running.

    `eager()` also waits for every upstream partition to exist; the daily
    source partitions far upstream never all do (a day without a file is an
    empty partition), so that clause is dropped.
    """
    return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def gated(when: dg.AutomationCondition) -> dg.AutomationCondition:
    """`when`, but never past a failed blocking check upstream.

    A failed blocking check still records its asset's materialization, so
    without this gate the layer below would run on the data it rejected.
    """
    return when & dg.AutomationCondition.all_deps_blocking_checks_passed()
