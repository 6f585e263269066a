"""`docs/benchmarks.md`, rendered from the benchmark reports in `data/benchmarks/`.

Every figure on that page comes from a report a benchmark wrote, never typed
by hand. Each report has a section between markers; a report absent from
this checkout (each benchmark writes its own, and they take from a minute to
half an hour) leaves its section as the last run that had it rendered it.

    python -m benchmarks.figures        # after any `make bench...`
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from cdp_platform.settings import PROJECT_ROOT

REPORTS = PROJECT_ROOT / "data" / "benchmarks"
PAGE = PROJECT_ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

The last measured figures of every benchmark, rendered by
`python -m benchmarks.figures` from the JSON reports the benchmarks write to
`data/benchmarks/` (run on a 2-core machine unless a section says otherwise).
How each is measured: [development.md](development.md). A section a later run
did not measure keeps the figures of the run that did.
"""
MARKER = "<!-- report: {name} -->"
SECTION = re.compile(r"<!-- report: (?P<name>[\w.]+) -->\n(?P<body>.*?)(?=<!-- report: |\Z)", re.S)


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _figure(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def identity(report: dict) -> str:
    """Accuracy per data set and method, id stability and speed, each with the
    command that measured it."""
    parts = ["## Identity\n"]
    measured = report.get("measured_by", {})
    if report.get("accuracy"):
        rows, sets = [], []
        for row in report["accuracy"]:
            if row["data_set"] not in sets:
                sets.append(row["data_set"])
            rows.append(
                [
                    row["data_set"],
                    row["method"],
                    _figure(row["records"]),
                    f"{row['precision']:.4f} / {row['recall']:.4f} / {row['f1']:.4f}",
                ]
            )
        parts.append(
            "Pairwise precision / recall / F1 over records that carry an identifying "
            "field, one shipped configuration for every data set:\n"
        )
        parts.append(_table(["data set", "method", "records", "P / R / F1"], rows) + "\n")
        parts.append(_commands({s: measured.get(s) for s in sets}))
    if report.get("stability"):
        s = report["stability"]
        parts.append(
            f"Person ids on the smallest generated set: {_figure(s['ids_moved_by_unchanged_rerun'])} "
            f"of {_figure(s['persons_before'])} moved by an unchanged re-run; one more day "
            f"keeps {_figure(s['ids_kept_after_new_day'])} ({s['kept_share']:.2%}); "
            f"{_figure(s['of_which_explained_in_history'])} of the "
            f"{_figure(s['ids_with_records_moved'])} ids whose records moved are explained "
            "in `identity.person_id_history`.\n"
        )
        parts.append(_commands({"stability": measured.get("stability")}))
    for section, shape in (
        ("speed", "the demo generator"),
        ("speed_repeat_buyers", "the retail generator's repeat buyers (10 to 60 orders each)"),
    ):
        if report.get(section):
            parts.append(_speed(report[section], shape))
            parts.append(_commands({section: measured.get(section)}))
    return "\n".join(parts)


def _speed(s: dict, shape: str) -> str:
    rows = [
        [m["label"], f"{m['seconds']:.1f}", f"{m['peak_rss_mib']:,.0f}"]
        for m in (s["platform"], s["splink_alone"])
    ]
    text = (
        f"Staging and identity for {_figure(s['identity_records'])} identity records of "
        f"{shape}, model trained afresh, against Splink alone on the same records "
        f"({s['ratio']}x):\n\n" + _table(["resolver", "seconds", "peak MiB"], rows) + "\n"
    )
    if "pipeline" in s:
        p = s["pipeline"]
        text += (
            f"\nThe whole pipeline on that set (`cdp run`, default memory limit): "
            f"{p['seconds']:.1f} s, peak {p['peak_rss_mib']:,.0f} MiB.\n"
        )
    return text


def _commands(measured: dict) -> str:
    seen = {}
    for what, by in measured.items():
        if by:
            seen.setdefault((by["command"], by["at"]), []).append(what)
    return "".join(
        f"Measured by `{command}` at {at[:16].replace('T', ' ')} UTC.\n" for (command, at) in seen
    )


def generic(title: str) -> Callable[[dict], str]:
    """A report's figures as a table of dotted names and values."""

    def render(report: dict) -> str:
        rows = [[name, _figure(value)] for name, value in _flatten(report)]
        return f"## {title}\n\n" + _table(["figure", "value"], rows) + "\n"

    return render


def _flatten(value, prefix: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _flatten(inner, f"{prefix}[{n}]")
    else:
        yield prefix, value


def pipeline_report(path: Path) -> str | None:
    """The whole report `make bench` writes, as it wrote it in markdown."""
    markdown = path.with_suffix(".md")
    if not markdown.exists():
        return None
    text = markdown.read_text().strip()
    return "## The full report (`make bench`)\n\n" + re.sub(r"^# .*\n+", "", text) + "\n"


def from_json(renderer: Callable[[dict], str]) -> Callable[[Path], str]:
    return lambda path: renderer(json.loads(path.read_text()))


# name -> how its section is rendered from data/benchmarks/<name>.json
RENDERERS: dict[str, Callable[[Path], str | None]] = {
    "report": pipeline_report,
    "identity": from_json(identity),
    "profiles": from_json(generic("Profiles (`make bench-profiles`)")),
    "segments": from_json(generic("Segments (`make bench-segments`)")),
    "activation": from_json(generic("Activation (`make bench-activation`)")),
    "faults": from_json(generic("Faults (`make bench-faults`)")),
    "foundation": from_json(generic("Foundation (`make bench-foundation`)")),
}


def render(previous: str, reports: Path = REPORTS) -> str:
    """The page: each report's section anew where its JSON exists, else as before."""
    kept = {m["name"]: m["body"].strip() for m in SECTION.finditer(previous)}
    sections = []
    for name, renderer in RENDERERS.items():
        path = reports / f"{name}.json"
        body = renderer(path) if path.exists() else None
        body = (body or "").strip() or kept.get(name, "")
        if body:
            sections.append(MARKER.format(name=name) + "\n" + body + "\n")
    return HEADER + "\n" + "\n".join(sections)


def main() -> None:
    previous = PAGE.read_text() if PAGE.exists() else ""
    PAGE.write_text(render(previous))
    print(f"Figures: {PAGE}")


if __name__ == "__main__":
    main()
