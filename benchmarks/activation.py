"""Activation throughput: 100,000 records to a rate-limited local destination.

    python -m benchmarks.activation [--records 100000] [--rps 100] [--batch 100]

A local receiver speaks the signed-webhook format and allows at most `--rps`
requests a second (more are answered 429 with `Retry-After`). The sync engine
sends `--records` new records in batches of `--batch`, with state in a DuckDB
file, and the figure is the share of the throughput the limit allows
(`rps x batch` records a second) that the whole run reached, state commits
included. A second run over the same rows must send nothing. Writes
`data/benchmarks/activation.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
from pathlib import Path

import duckdb
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.webhook import WebhookDestination
from cdp_platform.activation.engine import run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "activation.json"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class LimitedReceiver:
    """Takes webhook batches, at most `rps` a second over any one-second window."""

    def __init__(self, rps: int):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.rps = rps
        self.arrivals: list[float] = []
        self.records = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks"

    def _app(self, environ, start_response):
        request = Request(environ)
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self.arrivals[-self.rps :] if now - t < 1.0]
            if len(recent) >= self.rps:
                self.refused += 1
                response = Response("slow down", 429, headers={"Retry-After": "1"})
                return response(environ, start_response)
            self.arrivals.append(now)
            self.records += len(json.loads(request.get_data())["data"]["records"])
        return Response(status=204)(environ, start_response)

    def stop(self):
        self._server.shutdown()


def measure_activation(records: int = 100_000, rps: int = 100, batch: int = 100) -> dict:
    """Send `records` new rows to a local receiver allowing `rps` requests a second,
    then the same rows again; returns the figures."""
    rows = [
        Row(f"person{i}@example.org", f"p{i}", {"tier": "gold", "n": i}) for i in range(records)
    ]
    receiver = LimitedReceiver(rps)
    destination = WebhookDestination(
        receiver.url,
        SECRET,
        Limits(batch_size=batch, requests_per_second=rps, max_concurrency=8),
    )
    try:
        with tempfile.TemporaryDirectory(prefix="cdp-bench-activation-") as tmp:
            conn = duckdb.connect(str(Path(tmp) / "state.duckdb"))
            create_declared_tables(conn)
            started = time.perf_counter()
            report = run_sync(conn, "bench", "upsert", rows, destination, "run-1")
            seconds = time.perf_counter() - started
            again = run_sync(conn, "bench", "upsert", rows, destination, "run-2")
            conn.close()
    finally:
        receiver.stop()
    allowed = rps * batch
    reached = report.sent / seconds
    return {
        "records": records,
        "records_sent": report.sent,
        "received_by_destination": receiver.records,
        "requests": report.requests,
        "refused_429": receiver.refused,
        "seconds": round(seconds, 2),
        "records_per_second": round(reached),
        "allowed_records_per_second": allowed,
        "share_of_limit": round(reached / allowed, 4),
        "second_run_sent": again.sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    figures = measure_activation(args.records, args.rps, args.batch)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    print(render_table(["measure", "value"], [(k, v) for k, v in figures.items()]))
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
