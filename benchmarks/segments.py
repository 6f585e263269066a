"""Segments layer: every declared segment evaluated over a loaded warehouse.

    python -m benchmarks.segments [--persons 100000] [--days 900]

Generates the data set with the same long history as the profiles benchmark
(so score-based segments have scores), runs the whole pipeline once (`cdp
run`), then materializes the `segments` group again in its own process and
prints each segment's time and size, the layer's wall time and peak memory.
Writes `data/benchmarks/segments.json`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.layers import layer_arguments, load_warehouse, measure_group
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "segments.json"
SEGMENTS_GROUP = "segments"


def segment_sizes(conn) -> list[tuple[str, int, int]]:
    """Each segment's last recorded size and holdout: (segment, size, holdout)."""
    return conn.execute(
        """SELECT segment, size, holdout FROM segments.segment_sizes
           QUALIFY row_number() OVER (PARTITION BY segment ORDER BY recorded_at DESC) = 1
           ORDER BY segment"""
    ).fetchall()


def main() -> None:
    args = layer_arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix="cdp-bench-segments-") as tmp:
        warehouse, env = load_warehouse(Path(tmp), args.persons, args.days, args.start)
        layer = measure_group(SEGMENTS_GROUP, warehouse, env)
        from cdp_platform.resources.warehouse import connect

        with connect(warehouse, read_only=True) as conn:
            persons = conn.execute("SELECT count(*) FROM profiles.golden_profiles").fetchone()[0]
            sizes = segment_sizes(conn)
    report = {
        "generated_persons": args.persons,
        "days": args.days,
        "profiles": persons,
        "layer": layer.as_dict(),
        "segments": {name: {"size": size, "holdout": held} for name, size, held in sizes},
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    print()
    print(render_table(["segment", "members", "held out"], sizes))
    print()
    print(
        render_table(
            ["measure", "value"],
            [
                ("profiles", persons),
                ("segments evaluated", len(sizes)),
                ("segments layer seconds", f"{layer.seconds:.1f}"),
                ("peak MiB", f"{layer.peak_rss_mib:,.0f}"),
            ],
        )
    )
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
