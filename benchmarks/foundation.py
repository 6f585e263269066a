"""Foundation benchmark: demo-data generation speed and `cdp run` time and memory.

    python -m benchmarks.foundation [--persons 100000] [--days 60]

Prints a table and writes `data/benchmarks/foundation.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from benchmarks.measure import cdp_command, generate_args, measure
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "foundation.json"


def landing_rows(landing: Path) -> int:
    manifest = json.loads((landing.parent / "demo_manifest.json").read_text())
    return sum(f["rows"] for f in manifest["files"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--demo-persons", type=int, default=2_000)
    args = parser.parse_args()
    cdp = cdp_command()
    results = []
    with tempfile.TemporaryDirectory(prefix="cdp-bench-") as tmp:
        for persons in (args.demo_persons, args.persons):
            out = Path(tmp) / f"p{persons}"
            gen = measure(
                f"generate {persons:,} persons x {args.days} days",
                generate_args(persons, args.days, out),
            )
            rows = landing_rows(out / "landing")
            run = measure(
                f"cdp run on {persons:,} persons ({rows:,} rows)",
                [
                    cdp,
                    "run",
                    "--landing",
                    str(out / "landing"),
                    "--warehouse",
                    str(out / "warehouse.duckdb"),
                ],
            )
            for m in (gen, run):
                results.append(
                    {
                        **m.as_dict(),
                        "persons": persons,
                        "rows": rows,
                        "rows_per_second": round(rows / m.seconds),
                    }
                )
    print(
        render_table(
            ["step", "seconds", "peak MiB", "rows", "rows/s"],
            [
                (
                    r["label"],
                    f"{r['seconds']:.1f}",
                    f"{r['peak_rss_mib']:.0f}",
                    r["rows"],
                    r["rows_per_second"],
                )
                for r in results
            ],
        )
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"machine": platform.platform(), "results": results}, indent=2))
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
