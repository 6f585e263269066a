"""The benchmark report: the whole platform measured on shared data sets, in one file.

    python -m benchmarks.report [--records 100000 1000000] [--days 900]
        [--febrl | --no-febrl] [--stability | --no-stability] [--speed | --no-speed]
        [--activation-records 100000] [--work DIR]

For each size in `--records` (source records: landing rows, as counted by the
generator's manifest) it generates one data set over `--days` of history (long
enough for the churn and value models to train), runs the full pipeline on it
(`cdp run`: every source, staging and identity, profiles, privacy, segments and
the syncs' file exports) in a child process, and records the wall time, peak
memory, each Dagster step's seconds grouped by layer, and throughput. The same
data sets then give the identity accuracy of the platform against a
deterministic baseline and Splink alone, person-id stability (smallest set),
the score models against naive rules and segment sizes (largest set), and the
identity speed of the platform against Splink alone (largest set, last, since
it retrains the identity model there). FEBRL3, FEBRL4 and the activation
throughput run on their own data.

Prints each section's time as it goes, then the report; writes
`data/benchmarks/report.md` and `data/benchmarks/report.json` (after each
section, so a failure leaves what was measured).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cdp_platform.settings import PROJECT_ROOT

REPORT_DIR = PROJECT_ROOT / "data" / "benchmarks"
TARGET_RECORDS = 1_000_000
TARGET_SECONDS = 15 * 60
TARGET_PEAK_MIB = 8 * 1024

# Dagster asset groups by pipeline stage, in the order the pipeline runs them.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("sources", ("sources",)),
    ("staging + identity", ("staging", "identity")),
    ("profiles", ("profiles",)),
    ("privacy", ("privacy",)),
    ("segments", ("segments",)),
    ("activation", ("activation",)),
]
# Stages whose work grows with the source records; the rest work on profiles.
THROUGHPUT_STAGES = ("sources", "staging + identity", "profiles")
RUN_OVERHEAD = "Dagster run overhead"
PROCESS_OVERHEAD = "process start, definitions, summary"


def persons_for(records: int, days: int) -> int:
    """Persons to generate for about `records` landing rows over `days`.

    Measured on the generator: about 10.7 rows a person over 60 days and 16.1
    over 900 (contact rows are per person; orders, visits and tickets grow
    with the history)."""
    per_person = 10.3 + 0.0064 * days
    return max(50, round(records / per_person))


# ----------------------------------------------------------------------------
# Pure pieces: step timings to stages, figures to markdown.


def stage_timings(timings: dict, records: int, wall_seconds: float | None = None) -> list[dict]:
    """Sum `cdp run --timings` step durations into the pipeline's stages.

    Returns one row per stage that ran (seconds, steps, and source records a
    second for the stages in `THROUGHPUT_STAGES`),
    then the time the runs spent outside steps and, given the child's wall
    time, the time outside the runs (interpreter start, definitions, summary).
    """
    steps = [step for run in timings.get("runs", []) for step in run.get("steps", [])]
    stage_of = {group: stage for stage, groups in STAGES for group in groups}
    totals: dict[str, list[float]] = {}
    for step in steps:
        stage = stage_of.get(step.get("group"), "other")
        totals.setdefault(stage, []).append(step["seconds"])
    order = [stage for stage, _ in STAGES] + ["other"]
    rows = []
    for stage in order:
        if stage in totals:
            seconds = sum(totals[stage])
            rate_of = records if stage in THROUGHPUT_STAGES else None
            rows.append(_stage_row(stage, seconds, len(totals[stage]), rate_of))
    in_steps = sum(step["seconds"] for step in steps)
    if "seconds" in timings:
        rows.append(_stage_row(RUN_OVERHEAD, max(0.0, timings["seconds"] - in_steps), 0, None))
        if wall_seconds is not None:
            outside = max(0.0, wall_seconds - timings["seconds"])
            rows.append(_stage_row(PROCESS_OVERHEAD, outside, 0, None))
    return rows


def _stage_row(stage: str, seconds: float, steps: int, records: int | None) -> dict:
    rate = round(records / seconds) if records and seconds > 0 else None
    return {
        "stage": stage,
        "seconds": round(seconds, 2),
        "steps": steps,
        "records_per_second": rate,
    }


def slowest_steps(timings: dict, count: int = 10) -> list[dict]:
    steps = [step for run in timings.get("runs", []) for step in run.get("steps", [])]
    return sorted(steps, key=lambda step: -step["seconds"])[:count]


def targets(pipelines: list[dict]) -> list[dict]:
    """The headline targets, judged on the data set of `TARGET_RECORDS` (or larger)."""
    judged = [p for p in pipelines if p["target_records"] >= TARGET_RECORDS and "run" in p]
    if not judged:
        return [
            {
                "target": f"{TARGET_RECORDS:,} source records: under "
                f"{TARGET_SECONDS // 60} min, peak under {TARGET_PEAK_MIB // 1024} GiB",
                "measured": "not run at this scale",
                "met": None,
            }
        ]
    pipeline = judged[0]
    seconds, peak = pipeline["run"]["seconds"], pipeline["run"]["peak_rss_mib"]
    records = f"{pipeline['source_records']:,} source records"
    return [
        {
            "target": f"{records}, full pipeline under {TARGET_SECONDS // 60} min",
            "measured": f"{seconds / 60:.1f} min",
            "met": seconds < TARGET_SECONDS,
        },
        {
            "target": f"{records}, peak memory under {TARGET_PEAK_MIB // 1024} GiB",
            "measured": f"{peak / 1024:.2f} GiB",
            "met": peak < TARGET_PEAK_MIB,
        },
    ]


_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?%?$")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value).replace("|", "\\|")


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or bool(_NUMBER.match(str(value)))


def md_table(headers: list[str], rows: list[tuple]) -> str:
    """A markdown table; columns whose values are all numbers align right."""
    numeric = [
        any(_is_number(row[i]) for row in rows)
        and all(_is_number(row[i]) or row[i] in (None, "") for row in rows)
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _measures(figures: dict) -> list[tuple]:
    """(measure, value) rows; fractions keep four decimals."""
    return [
        (name, f"{value:.4f}" if isinstance(value, float) and abs(value) < 1 else value)
        for name, value in figures.items()
    ]


def _size(records: int) -> str:
    if records >= 1_000_000 and records % 1_000_000 == 0:
        return f"{records // 1_000_000}M"
    if records >= 1_000 and records % 1_000 == 0:
        return f"{records // 1_000}k"
    return f"{records:,}"


def render_markdown(report: dict) -> str:
    """The report as markdown; sections not measured (yet) are left out."""
    out = ["# cdp_platform benchmark report", ""]
    machine = report.get("machine", {})
    if machine:
        out.append(
            f"Machine: {machine.get('platform', '?')}, {machine.get('cpus', '?')} CPUs, "
            f"{machine.get('memory_gib', '?')} GiB memory. Started {report.get('started', '?')}."
        )
    if "elapsed_seconds" in report:
        out.append(f"Whole benchmark: {report['elapsed_seconds'] / 60:.1f} min.")
    out.append("")
    pipelines = report.get("pipelines", [])
    if pipelines:
        out += ["## Targets", ""]
        out.append(
            md_table(
                ["target", "measured", "met"],
                [(t["target"], t["measured"], t["met"]) for t in targets(pipelines)],
            )
        )
        out += ["", *_pipeline_sections(pipelines)]
    if report.get("identity_accuracy"):
        out += ["## Identity accuracy", ""]
        out.append(
            "Pairwise precision, recall and F1 over record pairs that share a person. "
            "Recall ceiling: share of true pairs whose records both carry an identifying field."
        )
        out += ["", _accuracy_table(report["identity_accuracy"]), ""]
    if report.get("identity_speed"):
        speed = report["identity_speed"]
        out += [f"## Identity speed ({speed['identity_records']:,} identity records)", ""]
        out.append(
            md_table(
                ["resolver", "seconds", "peak MiB"],
                [
                    (label, speed[key]["seconds"], speed[key]["peak_rss_mib"])
                    for key, label in (
                        ("platform", "cdp_platform (staging + identity, model retrained)"),
                        ("splink_alone", "Splink alone (train, predict, cluster)"),
                    )
                ],
            )
        )
        out += ["", f"Platform / Splink alone: {speed['ratio']:.2f}x", ""]
    if report.get("stability"):
        stability = report["stability"]
        out += [f"## Person-id stability ({stability.get('data_set', '')})", ""]
        out.append("Every day but the last loaded, the same input again, then the last day.")
        rows = _measures({k: v for k, v in stability.items() if k != "data_set"})
        out += ["", md_table(["measure", "value"], rows), ""]
    if report.get("models"):
        from benchmarks.profiles import model_rows

        out += [f"## Predictive scores ({report.get('models_data_set', '')})", ""]
        out.append("Holdout figures of the trained models against naive rules.")
        rows = model_rows(report["models"])
        out += ["", md_table(["model", "holdout figure", "model", "naive rule"], rows), ""]
    if report.get("segments"):
        segments = report["segments"]
        out += [f"## Segments ({segments['data_set']})", ""]
        out.append(f"{segments['profiles']:,} profiles, {segments['accounts']:,} accounts.")
        rows = [(s["segment"], s["size"], s["holdout"]) for s in segments["sizes"]]
        out += ["", md_table(["segment", "members", "held out"], rows), ""]
    if report.get("activation"):
        activation = report["activation"]
        out += ["## Activation throughput", ""]
        out.append(
            f"{activation['records']:,} records to a local webhook receiver allowing "
            f"{activation['allowed_records_per_second']:,} records a second."
        )
        out += ["", md_table(["measure", "value"], _measures(activation)), ""]
    if report.get("sections"):
        out += ["## Time per section", ""]
        rows = [(name, seconds) for name, seconds in report["sections"].items()]
        if "elapsed_seconds" in report:
            rows.append(("whole benchmark", report["elapsed_seconds"]))
        out += [md_table(["section", "seconds"], rows), ""]
    return "\n".join(out).rstrip() + "\n"


def _pipeline_sections(pipelines: list[dict]) -> list[str]:
    out = ["## Full pipeline", ""]
    out.append(
        "`cdp run` in a child process: every source, staging and identity, profiles, "
        "privacy, segments and the syncs to local file exports."
    )
    out += [
        "",
        md_table(
            [
                "source records",
                "persons generated",
                "days",
                "identity records",
                "profiles",
                "seconds",
                "peak MiB",
                "records/s",
                "generate s",
            ],
            [
                (
                    p["source_records"],
                    p["persons"],
                    p["days"],
                    p.get("identity_records"),
                    p.get("profiles"),
                    p["run"]["seconds"],
                    p["run"]["peak_rss_mib"],
                    p["records_per_second"],
                    p["generate"]["seconds"],
                )
                for p in pipelines
                if "run" in p
            ],
        ),
        "",
    ]
    measured = [p for p in pipelines if p.get("stages")]
    if measured:
        out += ["### Stage timings", ""]
        out.append(
            "Seconds per stage (the sum of its Dagster steps), its share of the whole run, "
            "and source records a second for the stages that process source records."
        )
        stages = []
        for p in measured:
            for row in p["stages"]:
                if row["stage"] not in stages:
                    stages.append(row["stage"])
        headers = ["stage"]
        for p in measured:
            size = _size(p["target_records"])
            headers += [f"{size} s", f"{size} share", f"{size} records/s"]
        rows = []
        for stage in stages:
            row: list = [stage]
            for p in measured:
                found = next((r for r in p["stages"] if r["stage"] == stage), None)
                if found is None:
                    row += [None, None, None]
                else:
                    share = f"{100 * found['seconds'] / p['run']['seconds']:.0f}%"
                    row += [found["seconds"], share, found["records_per_second"]]
            rows.append(tuple(row))
        out += ["", md_table(headers, rows), ""]
        largest = measured[-1]
        out += [f"### Slowest steps ({_size(largest['target_records'])} set)", ""]
        rows = [(s["step"], s.get("group") or "", s["seconds"]) for s in largest["slowest_steps"]]
        out += [md_table(["step", "group", "seconds"], rows), ""]
    return out


def _accuracy_table(rows: list[dict]) -> str:
    return md_table(
        ["data set", "method", "records", "precision", "recall", "F1", "recall ceiling"],
        [
            (
                r["data_set"],
                r["method"],
                r["records"],
                f"{r['precision']:.4f}",
                f"{r['recall']:.4f}",
                f"{r['f1']:.4f}",
                f"{r['recall_ceiling']:.4f}",
            )
            for r in rows
        ],
    )


# ----------------------------------------------------------------------------
# The run.


class Report:
    """The figures gathered so far, saved after every section."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started = time.perf_counter()
        self.data: dict = {
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "memory_gib": _memory_gib(),
            },
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "sections": {},
        }

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        print(f"\n== {name}", flush=True)
        began = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - began
            self.data["sections"][name] = round(seconds, 1)
            total = time.perf_counter() - self.started
            print(f"-- {name}: {seconds:.1f} s (benchmark so far {total / 60:.1f} min)", flush=True)
            self.save()

    def save(self) -> str:
        self.data["elapsed_seconds"] = round(time.perf_counter() - self.started, 1)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "report.json").write_text(json.dumps(self.data, indent=2) + "\n")
        markdown = render_markdown(self.data)
        (self.folder / "report.md").write_text(markdown)
        return markdown


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages * size / 2**30, 1)


def run_full_pipeline(work: Path, records: int, days: int, start: str) -> dict:
    """Generate about `records` landing rows and run `cdp run` on them, measured."""
    from benchmarks.foundation import landing_rows
    from benchmarks.layers import generate_set, run_cdp
    from benchmarks.profiles import profile_counts
    from cdp_platform.resources.warehouse import connect

    out = work / f"r{records}"
    persons = persons_for(records, days)
    generated = generate_set(out, persons, days, start)
    rows = landing_rows(out / "landing")
    figures = {
        "target_records": records,
        "persons": persons,
        "days": days,
        "start": start,
        "source_records": rows,
        "folder": str(out),
        "generate": generated.as_dict(),
    }
    timings_file = out / "timings.json"
    env = {"CDP_START_DATE": start}
    warehouse = out / "warehouse.duckdb"
    run = run_cdp(
        f"cdp run, {rows:,} source records", out / "landing", warehouse, env, timings_file
    )
    timings = json.loads(timings_file.read_text())
    with connect(warehouse, read_only=True) as conn:
        identity_records = conn.execute("SELECT count(*) FROM staging.identity_records")
        figures["identity_records"] = identity_records.fetchone()[0]
        figures.update(profile_counts(conn))
    figures.update(
        {
            "run": run.as_dict(),
            "pipeline_seconds": timings["seconds"],
            "records_per_second": round(rows / run.seconds),
            "stages": stage_timings(timings, rows, run.seconds),
            "slowest_steps": slowest_steps(timings),
            "steps": timings["runs"],
        }
    )
    for stage in figures["stages"]:
        print(f"    {stage['stage']}: {stage['seconds']:.1f} s", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, TARGET_RECORDS])
    parser.add_argument("--days", type=int, default=900)
    parser.add_argument("--start", default="2024-05-01")
    parser.add_argument("--febrl", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--stability", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--activation-records", type=int, default=100_000, help="0 skips it")
    parser.add_argument("--work", type=Path, default=None, help="keep the data sets here")
    parser.add_argument("--out", type=Path, default=REPORT_DIR)
    args = parser.parse_args()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        run(args, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="cdp-bench-report-") as tmp:
            run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    from benchmarks.activation import measure_activation
    from benchmarks.identity import febrl, identity_speed, splink_and_scores
    from benchmarks.profiles import latest_models, profile_counts
    from benchmarks.segments import segment_sizes
    from benchmarks.stability import measure_stability
    from cdp_platform.resources.warehouse import connect

    report = Report(args.out)
    data = report.data
    env = {"CDP_START_DATE": args.start}
    sizes = sorted(args.records)
    data["pipelines"] = []
    for records in sizes:
        with report.section(f"full pipeline, {records:,} source records"):
            data["pipelines"].append(run_full_pipeline(work, records, args.days, args.start))

    splink_on_largest = None
    data["identity_accuracy"] = []
    with report.section("identity accuracy, generated sets"):
        for pipeline in data["pipelines"]:
            out = Path(pipeline["folder"])
            name = f"generated, {pipeline['source_records']:,} source records"
            splink, rows = splink_and_scores(
                name, out / "warehouse.duckdb", out / "ground_truth.csv", env
            )
            data["identity_accuracy"] += rows
            splink_on_largest = splink
    largest = data["pipelines"][-1]
    largest_name = f"{largest['source_records']:,} source records"
    warehouse = Path(largest["folder"]) / "warehouse.duckdb"
    with report.section("score models and segments"), connect(warehouse, read_only=True) as conn:
        data["models"] = latest_models(conn)
        data["models_data_set"] = largest_name
        data["segments"] = {
            "data_set": largest_name,
            **profile_counts(conn),
            "sizes": [
                {"segment": name, "size": size, "holdout": held}
                for name, size, held in segment_sizes(conn)
            ],
        }
    if args.febrl:
        with report.section("identity accuracy, FEBRL3 and FEBRL4"):
            data["identity_accuracy"] += febrl(work, "febrl3") + febrl(work, "febrl4")
    if args.stability:
        smallest = data["pipelines"][0]
        with report.section("person-id stability"):
            figures = measure_stability(Path(smallest["folder"]), work / "stability", env)
            name = f"{smallest['source_records']:,} source records"
            data["stability"] = {"data_set": name, **figures}
    if args.activation_records:
        with report.section("activation throughput"):
            data["activation"] = measure_activation(args.activation_records)
    if args.speed:
        with report.section("identity speed"):
            data["identity_speed"] = identity_speed(warehouse, splink_on_largest, env)
    markdown = report.save()
    print()
    print(markdown)
    print(f"Report: {args.out / 'report.md'} and {args.out / 'report.json'}")


if __name__ == "__main__":
    main()
