"""The `cdp` command: generate demo data and run the platform from a terminal."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

import click

from cdp_platform import settings
from cdp_platform.demo.defaults import DEFAULT_DAYS, DEFAULT_PERSONS, DEFAULT_SEED, DEFAULT_START


class CliError(click.ClickException):
    """One clear line on stderr and a non-zero exit."""

    def show(self, file=None) -> None:
        click.echo(f"cdp: error: {self.format_message()}", err=True)


def _parse_date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """cdp_platform: a customer data platform on Dagster."""


@cli.group()
def demo() -> None:
    """Synthetic demo data with ground truth."""


@demo.command("generate")
@click.option("--persons", default=DEFAULT_PERSONS, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(min=1))
@click.option("--start", default=DEFAULT_START.isoformat(), show_default=True, callback=_parse_date)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for landing/, ground_truth.csv and demo_manifest.json [default: ./data].",
)
def demo_generate(persons: int, days: int, start: date, seed: int, out: Path | None) -> None:
    """Write every landing source for PERSONS people over DAYS days."""
    from cdp_platform.demo.generator import generate

    out = out or settings.data_dir()
    started = time.perf_counter()
    manifest = generate(out, persons=persons, days=days, start=start, seed=seed)
    elapsed = time.perf_counter() - started
    click.echo(f"Generated {persons:,} persons over {days} days into {out / 'landing'}")
    totals = manifest.get("totals", {})
    rows = [
        (source, t.get("files", 0), t.get("rows", 0), t.get("malformed", 0))
        for source, t in totals.items()
    ]
    from cdp_platform.summary import render_table

    click.echo(render_table(["source", "files", "rows", "malformed"], rows))
    click.echo(f"Ground truth: {out / 'ground_truth.csv'}  ({elapsed:.1f}s)")
    if start.isoformat() != settings.start_date():
        click.echo(
            f"Daily partitions start on {settings.start_date()}: run with "
            f"CDP_START_DATE={start.isoformat()} to start them with this data."
        )


@cli.command("run")
@click.option(
    "--landing",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Landing folder [default: $CDP_LANDING_DIR or data/landing].",
)
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB warehouse file [default: $CDP_WAREHOUSE or data/warehouse.duckdb].",
)
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run log on the console.")
@click.option("--quiet", "-q", is_flag=True, help="No line per step while it runs.")
@click.option(
    "--timings",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write each run's step durations (seconds, asset group) to this JSON file.",
)
def run(
    landing: Path | None,
    warehouse: Path | None,
    verbose: bool,
    quiet: bool,
    timings: Path | None,
) -> None:
    """Materialize the whole asset graph over every landing day present."""
    if landing:
        os.environ["CDP_LANDING_DIR"] = str(landing.resolve())
    if warehouse:
        os.environ["CDP_WAREHOUSE"] = str(warehouse.resolve())
    landing_dir = settings.landing_dir()
    if not landing_dir.is_dir():
        raise CliError(f"landing folder {landing_dir} does not exist")

    from cdp_platform.automation.supervisor import RunStopped
    from cdp_platform.definitions import build_definitions
    from cdp_platform.pipeline import PipelineError, run_pipeline
    from cdp_platform.resources.warehouse import WarehouseUnavailable, check_writable, connect
    from cdp_platform.summary import render_summary

    def notify(message: str) -> None:
        click.echo(f"cdp: {message}", err=True)

    try:
        check_writable(settings.warehouse_path())
    except WarehouseUnavailable as exc:
        raise CliError(str(exc)) from exc
    started = time.perf_counter()
    try:
        result = run_pipeline(
            build_definitions(),
            landing_dir,
            log_level="INFO" if verbose else "CRITICAL",
            notify=notify,
            progress=(lambda _step: None) if quiet else _show_step(sys.stderr.isatty()),
        )
    except PipelineError as exc:
        raise CliError(str(exc)) from exc
    except RunStopped as exc:
        click.echo(f"cdp: {exc}", err=True)
        sys.exit(130)
    elapsed = time.perf_counter() - started
    if timings:
        _write_timings(timings, result, elapsed)
    for outcome in result.runs:
        for failure in outcome.failures:
            click.echo(f"cdp: error: {outcome.job} run {outcome.run_id[:8]}: {failure}", err=True)
    try:
        with connect(settings.warehouse_path(), read_only=True, wait_seconds=10) as conn:
            click.echo(render_summary(conn))
    except WarehouseUnavailable as exc:
        # The runs' own errors above say why; the summary is only left out.
        click.echo(f"cdp: no summary: {exc}", err=True)
    click.echo(
        f"\nDays {result.first_day}..{result.last_day} -> {settings.warehouse_path()} "
        f"in {elapsed:.1f}s"
    )
    if not result.success:
        sys.exit(1)


CLEAR_LINE = "\r\x1b[2K"  # back to the line's start, and erase it


def _show_step(live: bool):
    """Print a step as it starts and ends, on stderr: on a terminal the running
    step stays on one line that its end replaces; elsewhere one line each."""

    def show(step) -> None:
        where = f"[{step.elapsed:7.1f}s] {step.group or step.job} / {step.step}"
        if step.state == "started":
            if live:
                click.echo(f"{CLEAR_LINE}{where} ...", err=True, nl=False)
            else:
                click.echo(f"{where} started", err=True)
            return
        took = f" in {step.seconds:.1f}s" if step.seconds is not None else ""
        rows = f", {step.rows:,} rows" if step.rows is not None else ""
        clear = CLEAR_LINE if live else ""
        click.echo(f"{clear}{where} {step.state}{took}{rows}", err=True)

    return show


def _write_timings(path: Path, result, elapsed: float) -> None:
    runs = [
        {
            "job": o.job,
            "run_id": o.run_id,
            "success": o.success,
            "steps": [asdict(s) for s in o.steps],
        }
        for o in result.runs
    ]
    document = {
        "first_day": result.first_day,
        "last_day": result.last_day,
        "seconds": round(elapsed, 3),
        "runs": runs,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")


@cli.group()
def segment() -> None:
    """Audiences declared in config/segments.yaml."""


def _warehouse_option(function):
    return click.option(
        "--warehouse",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="DuckDB warehouse file [default: $CDP_WAREHOUSE or data/warehouse.duckdb].",
    )(function)


def _read_only_warehouse(warehouse: Path | None):
    from cdp_platform.resources.warehouse import connect

    path = warehouse or settings.warehouse_path()
    if not path.exists():
        raise CliError(f"warehouse {path} does not exist: run `cdp run` first")
    return connect(path, read_only=True)


@segment.command("list")
@_warehouse_option
def segment_list(warehouse: Path | None) -> None:
    """List the declared segments with their last materialized size."""
    from cdp_platform.segments.config import load_segments
    from cdp_platform.segments.preview import last_sizes
    from cdp_platform.summary import render_table

    specs = load_segments()
    sizes = {}
    # Before the first `cdp run` the declared segments are listed without sizes;
    # a warehouse asked for by name must exist, as for every other command.
    if warehouse is not None or settings.warehouse_path().exists():
        with _read_only_warehouse(warehouse) as conn:
            sizes = last_sizes(conn)
    rows = []
    for spec in specs:
        size, as_of, _ = sizes.get(spec.name, ("-", "-", None))
        owners = ", ".join(spec.owners) or "-"
        rows.append((spec.name, size, str(as_of), f"{spec.holdout_percent:g}%", owners))
    click.echo(render_table(["segment", "last size", "as of", "holdout", "owners"], rows))


@segment.command("preview")
@click.argument("name")
@click.option("--as-of", "as_of", default=None, callback=_parse_date, help="YYYY-MM-DD")
@click.option("--sample", default=10, show_default=True, type=click.IntRange(min=0))
@_warehouse_option
def segment_preview(name: str, as_of: date | None, sample: int, warehouse: Path | None) -> None:
    """Count a segment's members and show a masked sample, without materializing it."""
    from cdp_platform.profiles.traits import latest_loaded_day
    from cdp_platform.segments.config import load_segments
    from cdp_platform.segments.preview import SAMPLE_COLUMNS, preview
    from cdp_platform.summary import render_table

    specs = {spec.name: spec for spec in load_segments()}
    if name not in specs:
        raise CliError(f"no segment named {name!r}; declared: {', '.join(specs)}")
    with _read_only_warehouse(warehouse) as conn:
        day = str(as_of) if as_of else latest_loaded_day(conn)
        if day is None:
            raise CliError("nothing loaded yet and no --as-of given")
        try:
            size, held, rows = preview(conn, specs[name], day, sample)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    click.echo(f"Segment {name} as of {day}: {size:,} persons, {held:,} held out")
    if rows:
        shown = [tuple(_cell(v) for v in r) for r in rows]
        click.echo(render_table(list(SAMPLE_COLUMNS), shown))


def _cell(value):
    """A value as a table shows it: yes or no, and an empty cell for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


@cli.group()
def identity() -> None:
    """Identity resolution: the review queue of uncertain pairs."""


@identity.command("review")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--label",
    "labelled",
    nargs=3,
    default=None,
    metavar="RECORD_A RECORD_B match|non-match",
    help="Label one pair; records are named source:source_record_id.",
)
@_warehouse_option
def identity_review(
    limit: int, labelled: tuple[str, str, str] | None, warehouse: Path | None
) -> None:
    """List the pairs waiting for review, or label one (it decides later runs)."""
    from cdp_platform.identity.review import add_label, pending
    from cdp_platform.resources.warehouse import connect
    from cdp_platform.summary import render_table

    path = warehouse or settings.warehouse_path()
    if not path.exists():
        raise CliError(f"warehouse {path} does not exist: run `cdp run` first")
    if labelled:
        record_a, record_b, label = labelled
        with connect(path) as conn:
            try:
                add_label(conn, record_a, record_b, label, os.environ.get("USER", "cli"))
            except ValueError as exc:
                raise CliError(str(exc)) from exc
        click.echo(f"{record_a} and {record_b}: {label}; applied on the next identity run")
        return
    with _read_only_warehouse(path) as conn:
        rows = pending(conn, limit)
    if not rows:
        click.echo("Nothing to review.")
        return
    for a, b, probability, decision, *fields in rows:
        click.echo(f"{a}  {b}  probability {probability}  ({decision})")
        names = ["first name", "last name", "email", "phone", "birth date", "postcode", "street"]
        half = len(fields) // 2
        table = [(n, fields[i] or "", fields[half + i] or "") for i, n in enumerate(names)]
        click.echo(render_table(["field", a, b], table))
        click.echo("")
    click.echo("Label with: cdp identity review --label RECORD_A RECORD_B match|non-match")


@cli.group()
def privacy() -> None:
    """Data-subject requests."""


@privacy.command("report")
@click.option("--email", required=True, help="The subject's email address.")
@_warehouse_option
def privacy_report(email: str, warehouse: Path | None) -> None:
    """Print everything held about the person with this email, as JSON."""
    import json

    from cdp_platform.privacy.report import access_report

    with _read_only_warehouse(warehouse) as conn:
        report = access_report(conn, email)
    if not report["persons"]:
        raise CliError("no person holds that email")
    click.echo(json.dumps(report, indent=2, default=str))


def main() -> None:
    try:
        cli(prog_name="cdp", standalone_mode=True)
    except Exception as exc:  # an unexpected failure still gets one clear line
        if os.environ.get("CDP_DEBUG"):
            raise
        # The platform's own errors say what and where in plain words; others keep their type.
        own = type(exc).__module__.startswith("cdp_platform.")
        message = str(exc) if own else f"{type(exc).__name__}: {exc}"
        click.echo(f"cdp: error: {message}".splitlines()[0], err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
