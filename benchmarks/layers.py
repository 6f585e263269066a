"""Shared by the layer benchmarks: a loaded warehouse, and one group rebuilt and timed.

    python -m benchmarks.layers --materialize WAREHOUSE --group GROUP

rebuilds one asset group over a loaded warehouse in its own process (so its
peak memory is the group's alone) and prints each step's seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmarks.measure import Measurement, cdp_command, generate_args, measure

# Two and a half years of history: the 12-month value model needs a window to be judged on.
HISTORY_DAYS = 900
HISTORY_START = "2024-05-01"


def layer_arguments(doc: str) -> argparse.Namespace:
    """The options every layer benchmark takes: how many persons over how long."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=HISTORY_DAYS)
    parser.add_argument("--start", default=HISTORY_START)
    return parser.parse_args()


def generate_set(out: Path, persons: int, days: int, start: str) -> Measurement:
    """Generate `persons` over `days` from `start` into `out` (landing/, ground truth)."""
    generate = [*generate_args(persons, days, out), "--start", start]
    return measure(f"generate {persons:,} persons over {days} days", generate)


def run_cdp(
    label: str, landing: Path, warehouse: Path, env: dict, timings: Path | None = None
) -> Measurement:
    """`cdp run` over `landing` into `warehouse` in a child: wall time and peak memory
    of the whole pipeline; with `timings`, the run writes its step durations there."""
    args = [cdp_command(), "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    if timings is not None:
        args += ["--timings", str(timings)]
    return measure(label, args, env=env)


def load_warehouse(out: Path, persons: int, days: int, start: str) -> tuple[Path, dict]:
    """Generate `persons` over `days` into `out` and run the whole pipeline on them;
    returns the warehouse and the environment later commands need."""
    generate_set(out, persons, days, start)
    warehouse = out / "warehouse.duckdb"
    # The daily partitions must reach back to the first day generated.
    env = {"CDP_START_DATE": start}
    run_cdp(f"cdp run, {persons:,} persons", out / "landing", warehouse, env)
    return warehouse, env


def measure_group(group: str, warehouse: Path, env: dict) -> Measurement:
    """Rebuild `group` in a fresh process: its wall time, peak memory and step times."""
    command = [sys.executable, "-m", "benchmarks.layers"]
    return measure(
        f"{group} layer",
        [*command, "--materialize", str(warehouse), "--group", group],
        env=env,
        echo=True,
    )


def materialize_group(warehouse: Path, group: str) -> None:
    os.environ["CDP_WAREHOUSE"] = str(warehouse)
    import dagster as dg

    from cdp_platform.definitions import build_definitions

    defs = build_definitions()
    result = dg.materialize(
        assets=list(defs.assets),
        selection=dg.AssetSelection.groups(group),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    if not result.success:
        raise SystemExit(f"{group} layer failed")
    for event in result.all_events:
        if event.is_step_success:
            print(f"{event.step_key}\t{event.event_specific_data.duration_ms / 1000:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materialize", type=Path, required=True)
    parser.add_argument("--group", required=True)
    arguments = parser.parse_args()
    materialize_group(arguments.materialize, arguments.group)
