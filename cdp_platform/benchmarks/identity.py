"""Identity accuracy and speed on generated data with ground truth.

    python -m cdp_platform.benchmarks.identity [--persons 10000 100000]

For each size: generate, run the whole pipeline (`cdp run`), then score the
platform's `identity.person_id_map` and a deterministic-only baseline (exact
normalised email, phone or account id, no merge protection) by pairwise
precision, recall and F1 over record pairs that share a person. Prints a
table and writes `data/benchmarks/identity.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cdp_platform.benchmarks.measure import cdp_command, generate_args, measure
from cdp_platform.identity.clusters import components
from cdp_platform.identity.evaluation import PairwiseScores, pairwise_scores
from cdp_platform.resources.warehouse import connect
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "identity.json"
RECORDS = "staging.identity_records"


# Records sharing an exact normalised email, phone or account id, all chained.
BASELINE_EDGES = " UNION ALL ".join(
    f"""SELECT a.source || ':' || a.source_record_id AS record_a,
               b.source || ':' || b.source_record_id AS record_b
        FROM {RECORDS} a JOIN {RECORDS} b ON a.{column} = b.{column}
         AND a.source || ':' || a.source_record_id < b.source || ':' || b.source_record_id"""
    for column in ("email", "phone", "user_id")
)


def deterministic_baseline(warehouse: Path, truth: Path) -> PairwiseScores:
    """Exact email, phone or account id, as a plain CDP's identity stitching does."""
    with connect(warehouse) as conn:
        conn.execute(f"CREATE OR REPLACE TABLE identity.baseline_edges AS {BASELINE_EDGES}")
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        conn.register("_components", components(conn, RECORDS, "identity.baseline_edges"))
        conn.execute(
            "CREATE OR REPLACE TABLE bench.baseline_map AS "
            "SELECT split_part(record_key, ':', 1) AS source, "
            "substr(record_key, length(split_part(record_key, ':', 1)) + 2) AS source_record_id, "
            "component::VARCHAR AS person_id FROM _components"
        )
        scores = pairwise_scores(conn, truth, "bench.baseline_map")
        conn.execute("DROP TABLE identity.baseline_edges")
    return scores


def score_row(label: str, persons: int, scores: PairwiseScores) -> dict:
    return {
        "method": label,
        "persons": persons,
        "records": scores.records,
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    cdp = cdp_command()
    results, timings = [], []
    with tempfile.TemporaryDirectory(prefix="cdp-bench-identity-") as tmp:
        for persons in args.persons:
            out = Path(tmp) / f"p{persons}"
            measure(
                "generate",
                generate_args(persons, args.days, out),
            )
            warehouse = out / "warehouse.duckdb"
            run = measure(
                f"cdp run, {persons:,} persons",
                [cdp, "run", "--landing", str(out / "landing"), "--warehouse", str(warehouse)],
            )
            timings.append(run.as_dict())
            with connect(warehouse) as conn:
                platform = pairwise_scores(conn, out / "ground_truth.csv")
            results.append(score_row("cdp_platform", persons, platform))
            results.append(
                score_row(
                    "deterministic baseline",
                    persons,
                    deterministic_baseline(warehouse, out / "ground_truth.csv"),
                )
            )
    print(
        render_table(
            ["method", "persons", "records", "precision", "recall", "F1"],
            [
                (
                    r["method"],
                    r["persons"],
                    r["records"],
                    f"{r['precision']:.4f}",
                    f"{r['recall']:.4f}",
                    f"{r['f1']:.4f}",
                )
                for r in results
            ],
        )
    )
    print()
    print(
        render_table(
            ["run", "seconds", "peak MiB"],
            [(t["label"], f"{t['seconds']:.1f}", f"{t['peak_rss_mib']:.0f}") for t in timings],
        )
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"accuracy": results, "runs": timings}, indent=2))
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
