"""Profiles layer speed: golden profiles, traits, consent and timeline.

    python -m cdp_platform.benchmarks.profiles [--persons 100000] [--days 60]

Generates the data set, runs the whole pipeline once (`cdp run`), then
materializes the `profiles` group again in its own process and prints each
asset's time, the layer's wall time and peak memory. Writes
`data/benchmarks/profiles.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from cdp_platform.benchmarks.measure import cdp_command, generate_args, measure
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "profiles.json"
PROFILES_GROUP = "profiles"


def materialize_profiles(warehouse: Path) -> None:
    """Rebuild the profiles group over a loaded warehouse; print each step's time."""
    os.environ["CDP_WAREHOUSE"] = str(warehouse)
    import dagster as dg

    from cdp_platform.definitions import build_definitions

    defs = build_definitions()
    result = dg.materialize(
        assets=list(defs.assets),
        selection=dg.AssetSelection.groups(PROFILES_GROUP),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    if not result.success:
        raise SystemExit("profiles layer failed")
    for event in result.all_events:
        if event.is_step_success:
            print(f"{event.step_key}\t{event.event_specific_data.duration_ms / 1000:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--materialize", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.materialize:
        materialize_profiles(args.materialize)
        return
    with tempfile.TemporaryDirectory(prefix="cdp-bench-profiles-") as tmp:
        out = Path(tmp)
        measure(f"generate {args.persons:,} persons", generate_args(args.persons, args.days, out))
        warehouse = out / "warehouse.duckdb"
        landing = out / "landing"
        measure(
            f"cdp run, {args.persons:,} persons",
            [cdp_command(), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        )
        layer = measure(
            "profiles layer",
            [
                sys.executable,
                "-m",
                "cdp_platform.benchmarks.profiles",
                "--materialize",
                str(warehouse),
            ],
            echo=True,
        )
        from cdp_platform.resources.warehouse import connect

        with connect(warehouse, read_only=True) as conn:
            persons = conn.execute("SELECT count(*) FROM profiles.golden_profiles").fetchone()[0]
    report = {"generated_persons": args.persons, "profiles": persons, "layer": layer.as_dict()}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    print()
    print(
        render_table(
            ["measure", "value"],
            [
                ("profiles built", persons),
                ("profiles layer seconds", f"{layer.seconds:.1f}"),
                ("peak MiB", f"{layer.peak_rss_mib:,.0f}"),
            ],
        )
    )
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
