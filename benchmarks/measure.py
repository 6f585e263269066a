"""Wall time and peak memory of a command run as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    label: str
    seconds: float
    peak_rss_mib: float

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "seconds": round(self.seconds, 2),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        }


# The folder holding `benchmarks/`: children run `python -m benchmarks.<name>`
# from wherever the parent was started.
CHECKOUT = Path(__file__).resolve().parent.parent


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the checkout importable, plus `extra`."""
    paths = [str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **(extra or {})}


def cdp_command() -> str:
    return str(Path(sys.executable).parent / "cdp")


def measure(
    label: str, args: list[str], env: dict[str, str] | None = None, echo: bool = False
) -> Measurement:
    """Run `args` in a fresh child and report its wall time and peak resident memory.

    Each measurement runs under its own `python -c` wrapper so that
    RUSAGE_CHILDREN holds that command's peak alone. With `echo`, the
    command's standard output is printed after the figures.
    """
    wrapper = (
        "import resource, subprocess, sys, json;"
        "code = subprocess.call(sys.argv[1:]);"
        "print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), file=sys.stderr);"
        "sys.exit(code)"
    )
    # No DAGSTER_HOME: runs go to an ephemeral instance, so the figures measure
    # the platform's work rather than the run-history database's writes.
    environment = {k: v for k, v in child_environment(env).items() if k != "DAGSTER_HOME"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        env=environment,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{label} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    print(f"  {label}: {seconds:.1f} s, peak {peak_kib / 1024:,.0f} MiB", flush=True)
    if echo:  # the command's own account of its stages
        for line in done.stdout.splitlines():
            print(f"    {line}", flush=True)
    return Measurement(label, seconds, peak_kib / 1024)


def generate_args(persons: int, days: int, out: Path) -> list[str]:
    """The `cdp demo generate` command line for a benchmark data set."""
    return [
        cdp_command(),
        "demo",
        "generate",
        "--persons",
        str(persons),
        "--days",
        str(days),
        "--out",
        str(out),
    ]
