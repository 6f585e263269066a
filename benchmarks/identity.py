"""Identity accuracy and speed: the platform against a deterministic baseline and Splink alone.

    python -m benchmarks.identity [--persons 10000 100000]
        [--retail-persons 10000 100000] [--crm-persons 5000]
        [--febrl | --no-febrl] [--register FILE ...] [--speed-records 1000000]

Accuracy, with the one shipped configuration and no per-data-set settings, on:
the demo generator at each size; an independently written retail generator
(other name pools, error model and households; repeat buyers with many
orders); a name-only CRM export with duplicates; FEBRL3 and FEBRL4 (written
as landing files of two sources); and any person register with known answers
given with `--register` (`register.py`, e.g. Splink's historical figures with
errors). Each is run through the whole pipeline
(`cdp run`) and scored by pairwise precision, recall and F1 over record pairs
that share a person, counting records that carry any identifying field (a
browser that never signed in can be placed by no method; F1 over all records
is printed beside it):
- `cdp_platform`: `identity.person_id_map`;
- `deterministic baseline`: exact normalised email, phone or account id,
  chained into connected components (what plain identity stitching does);
- `splink alone`: Splink with default-style settings on the same
  standardised records, no deterministic rules, clusters at 0.9.
Also printed: the recall ceiling, the share of true pairs whose records both
carry some identifying field (a browser never signed in carries none).

Stability: on the smallest generated set, ids moved by an unchanged re-run
and ids kept when the last day arrives (`stability.py`).

Speed: for about `--speed-records` identity records, the time and peak
memory of the staging and identity layers (model trained afresh) and of
Splink alone, each in its own process. Merges what it measured into
`data/benchmarks/identity.json` (other data sets and sections kept, each
saying the command and time that measured it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.crm_dedupe import write_crm_dedupe
from benchmarks.febrl import write_febrl3, write_febrl4
from benchmarks.measure import Measurement, cdp_command, generate_args, measure
from benchmarks.register import write_register
from benchmarks.resolvers import SPLINK_ALONE_MAP
from benchmarks.retail_generator import generate as generate_retail
from benchmarks.stability import measure_stability
from cdp_platform.identity.clusters import components
from cdp_platform.identity.evaluation import PairwiseScores, pairwise_scores, recall_ceiling
from cdp_platform.resources.warehouse import connect
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "identity.json"
RECORDS = "staging.identity_records"
# Identity records per generated person (one per CRM contact, order, browser, ...).
RECORDS_PER_PERSON = 3.5
# The same for the retail generator, whose repeat buyers re-type themselves on
# every order (1,062,746 identity records from 245,000 persons).
RETAIL_RECORDS_PER_PERSON = 4.34
RETAIL_ENV = {"CDP_START_DATE": "2026-08-01"}

# Records sharing an exact normalised email, phone or account id, all chained.
BASELINE_EDGES = " UNION ALL ".join(
    f"""SELECT a.source || ':' || a.source_record_id AS record_a,
               b.source || ':' || b.source_record_id AS record_b
        FROM {RECORDS} a JOIN {RECORDS} b ON a.{column} = b.{column}
         AND a.source || ':' || a.source_record_id < b.source || ':' || b.source_record_id"""
    for column in ("email", "phone", "user_id")
)


def deterministic_baseline(warehouse: Path, truth: Path) -> tuple[PairwiseScores, PairwiseScores]:
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
        scores = _scores(conn, truth, "bench.baseline_map")
        conn.execute("DROP TABLE identity.baseline_edges")
    return scores


def resolver(kind: str, warehouse: Path, label: str, env: dict | None = None) -> Measurement:
    module = "benchmarks.resolvers"
    return measure(label, [sys.executable, "-m", module, kind, str(warehouse)], env=env, echo=True)


def splink_and_scores(
    data_set: str, warehouse: Path, truth: Path, env: dict | None = None
) -> tuple[Measurement, list[dict]]:
    """Splink alone run on a loaded warehouse (its time and memory), and the three
    methods' scores there."""
    splink = resolver("splink", warehouse, f"splink alone, {data_set}", env)
    rows = []
    with connect(warehouse) as conn:
        ceiling = recall_ceiling(conn, truth)
        for method, table in (
            ("cdp_platform", "identity.person_id_map"),
            ("splink alone", SPLINK_ALONE_MAP),
        ):
            rows.append(_row(data_set, method, *_scores(conn, truth, table)))
    rows.insert(
        1, _row(data_set, "deterministic baseline", *deterministic_baseline(warehouse, truth))
    )
    for row in rows:
        row["recall_ceiling"] = round(ceiling, 4)
    return splink, rows


def score_rows(data_set: str, warehouse: Path, truth: Path) -> list[dict]:
    """The three methods on one loaded warehouse (Splink alone is run here)."""
    return splink_and_scores(data_set, warehouse, truth)[1]


def _row(data_set: str, method: str, scores: PairwiseScores, every: PairwiseScores) -> dict:
    return {
        "data_set": data_set,
        "method": method,
        "records": scores.records,
        "true_pairs": scores.true_pairs,
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "f1_all_records": round(every.f1, 4),
    }


def _scores(conn, truth: Path, table: str) -> tuple[PairwiseScores, PairwiseScores]:
    return (
        pairwise_scores(conn, truth, table, identifying_only=True),
        pairwise_scores(conn, truth, table),
    )


def run_pipeline(label: str, out: Path, landing: Path, env: dict | None = None) -> Path:
    return measured_pipeline(label, out, landing, env)[0]


def measured_pipeline(
    label: str, out: Path, landing: Path, env: dict | None = None
) -> tuple[Path, Measurement]:
    """`cdp run` of `landing` into `out`'s warehouse, with its time and memory."""
    warehouse = out / "warehouse.duckdb"
    args = [cdp_command(), "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    return warehouse, measure(f"cdp run, {label}", args, env=env)
    return warehouse


def generated(tmp: Path, persons: int, days: int) -> list[dict]:
    out = tmp / f"p{persons}"
    measure(f"generate {persons:,} persons", generate_args(persons, days, out))
    warehouse = run_pipeline(f"{persons:,} persons", out, out / "landing")
    return score_rows(f"generated, {persons:,} persons", warehouse, out / "ground_truth.csv")


def retail(tmp: Path, persons: int) -> list[dict]:
    out = tmp / f"retail{persons}"
    print(f"  generate retail, {persons:,} persons", flush=True)
    generate_retail(out, persons)
    warehouse = run_pipeline(f"retail, {persons:,} persons", out, out / "landing", RETAIL_ENV)
    return splink_and_scores(
        f"retail, {persons:,} persons", warehouse, out / "ground_truth.csv", RETAIL_ENV
    )[1]


def crm_dedupe(tmp: Path, persons: int) -> list[dict]:
    out = tmp / "crm"
    landing = write_crm_dedupe(out, persons)
    env = {"CDP_START_DATE": "2026-08-01"}
    warehouse = run_pipeline("name-only CRM", out, landing, env)
    label = f"name-only CRM, {persons:,} persons"
    return splink_and_scores(label, warehouse, out / "ground_truth.csv", env)[1]


def febrl(tmp: Path, name: str) -> list[dict]:
    out = tmp / name
    landing = (write_febrl3 if name == "febrl3" else write_febrl4)(out)
    # FEBRL's records are dated 2026-08-01; the shipped configuration applies.
    env = {"CDP_START_DATE": "2026-08-01"}
    warehouse = run_pipeline(name.upper(), out, landing, env)
    return splink_and_scores(name.upper(), warehouse, out / "ground_truth.csv", env)[1]


def register(tmp: Path, source_file: Path) -> list[dict]:
    out = tmp / f"register-{source_file.stem}"
    landing = write_register(source_file, out)
    env = {"CDP_START_DATE": "2026-08-01"}
    warehouse = run_pipeline(source_file.name, out, landing, env)
    return splink_and_scores(source_file.name, warehouse, out / "ground_truth.csv", env)[1]


def speed(tmp: Path, records: int, days: int) -> dict:
    persons = math.ceil(records / RECORDS_PER_PERSON)
    out = tmp / "speed"
    measure(f"generate {persons:,} persons", generate_args(persons, days, out))
    warehouse = run_pipeline(f"{persons:,} persons", out, out / "landing")
    return identity_speed(warehouse)


def repeat_buyer_speed(tmp: Path, records: int) -> dict:
    """The full pipeline at the default memory limit, then identity against Splink
    alone, on the retail generator's shape: customers with 10 to 60 orders."""
    persons = math.ceil(records / RETAIL_RECORDS_PER_PERSON)
    out = tmp / "repeat_buyers"
    print(f"  generate retail, {persons:,} persons", flush=True)
    generate_retail(out, persons)
    label = f"retail, {persons:,} persons"
    warehouse, pipeline = measured_pipeline(label, out, out / "landing", RETAIL_ENV)
    return {"pipeline": pipeline.as_dict(), **identity_speed(warehouse, env=RETAIL_ENV)}


def identity_speed(
    warehouse: Path, splink: Measurement | None = None, env: dict | None = None
) -> dict:
    """The staging and identity layers (model retrained) against Splink alone on a
    loaded warehouse's identity records, each in its own process; pass `splink`
    when Splink alone was already measured there. Rebuilds the warehouse's identity."""
    with connect(warehouse) as conn:
        count = conn.execute(f"SELECT count(*) FROM {RECORDS}").fetchone()[0]
    platform = resolver("platform", warehouse, f"platform identity, {count:,} records", env)
    splink = splink or resolver("splink", warehouse, f"splink alone, {count:,} records", env)
    return {
        "identity_records": count,
        "platform": platform.as_dict(),
        "splink_alone": splink.as_dict(),
        "ratio": round(platform.seconds / splink.seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--retail-persons", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--crm-persons", type=int, default=5000, help="0 skips it")
    parser.add_argument("--febrl", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--register", type=Path, nargs="*", default=[], help="register files")
    parser.add_argument("--speed-records", type=int, default=1_000_000, help="0 skips it")
    parser.add_argument(
        "--repeat-buyer-records",
        type=int,
        default=1_000_000,
        help="identity records of the repeat-buyer speed set; 0 skips it",
    )
    args = parser.parse_args()
    report: dict = {"accuracy": [], "stability": None, "speed": None, "speed_repeat_buyers": None}
    with tempfile.TemporaryDirectory(prefix="cdp-bench-identity-") as tmp:
        for persons in args.persons:
            report["accuracy"] += generated(Path(tmp), persons, args.days)
        for persons in args.retail_persons:
            report["accuracy"] += retail(Path(tmp), persons)
        if args.crm_persons:
            report["accuracy"] += crm_dedupe(Path(tmp), args.crm_persons)
        if args.febrl:
            report["accuracy"] += febrl(Path(tmp), "febrl3") + febrl(Path(tmp), "febrl4")
        for source_file in args.register:
            report["accuracy"] += register(Path(tmp), source_file)
        print_accuracy(report["accuracy"])
        if args.persons:
            smallest = Path(tmp) / f"p{min(args.persons)}"
            report["stability"] = measure_stability(smallest, Path(tmp) / "stability")
            print_stability(report["stability"])
        _save(report)
        if args.speed_records:
            report["speed"] = speed(Path(tmp), args.speed_records, args.days)
            print_speed(report["speed"])
            _save(report)
        if args.repeat_buyer_records:
            report["speed_repeat_buyers"] = repeat_buyer_speed(Path(tmp), args.repeat_buyer_records)
            print_speed(report["speed_repeat_buyers"])
            _save(report)
    print(f"\nReport: {REPORT}")


def _save(report: dict) -> None:
    """Merge this run's sections into the report: a run that measured only
    speed, or one data set, keeps the figures of the others, each section
    saying which command measured it and when."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    measured = {
        "command": " ".join(["python -m benchmarks.identity", *sys.argv[1:]]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    provenance = saved.get("measured_by", {})
    if report["accuracy"]:
        ran = {(row["data_set"], row["method"]) for row in report["accuracy"]}
        kept = [
            row for row in saved.get("accuracy", []) if (row["data_set"], row["method"]) not in ran
        ]
        saved["accuracy"] = kept + report["accuracy"]
        for data_set in {row["data_set"] for row in report["accuracy"]}:
            provenance[data_set] = measured
    for section in ("stability", "speed", "speed_repeat_buyers"):
        if report.get(section) is not None:
            saved[section] = report[section]
            provenance[section] = measured
    saved["measured_by"] = provenance
    REPORT.write_text(json.dumps(saved, indent=2))


def print_accuracy(results: list[dict]) -> None:
    print()
    print(
        render_table(
            [
                "data set",
                "method",
                "records",
                "precision",
                "recall",
                "F1",
                "F1 (all records)",
                "recall ceiling",
            ],
            [
                (
                    r["data_set"],
                    r["method"],
                    f"{r['records']:,}",
                    f"{r['precision']:.4f}",
                    f"{r['recall']:.4f}",
                    f"{r['f1']:.4f}",
                    f"{r['f1_all_records']:.4f}",
                    f"{r['recall_ceiling']:.4f}",
                )
                for r in results
            ],
        ),
        flush=True,
    )


def print_stability(stability: dict) -> None:
    print()
    print("Person ids, last day withheld and then added (smallest generated set):")
    print(render_table(["measure", "value"], list(stability.items())), flush=True)


def print_speed(timing: dict) -> None:
    print()
    print(f"Identity resolution of {timing['identity_records']:,} records:")
    print(
        render_table(
            ["resolver", "seconds", "peak MiB"],
            [
                (name, f"{t['seconds']:.1f}", f"{t['peak_rss_mib']:.0f}")
                for name, t in (
                    ("cdp_platform (staging + identity, model trained)", timing["platform"]),
                    ("splink alone (train, predict, cluster)", timing["splink_alone"]),
                )
            ],
        )
    )
    print(f"platform / splink alone: {timing['ratio']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
