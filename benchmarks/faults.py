"""The fault matrix: the real sync engine against a HubSpot-shaped server that misbehaves.

    python -m benchmarks.faults [--persons 2100]

Each row runs `run_sync` (a DuckDB state file on disk, the real
`HubSpotDestination` client with its default limits and timeouts) against a
local server speaking HubSpot's contacts batch upsert, which injects one kind
of fault: 429 with `Retry-After`, 5xx, answers slower than the client's old
10 s timeout (applied), answers slower than the client's read timeout
(applied, then retried), a connection closed without an answer before or
after applying the batch, a 207 that rejects some inputs once (accepted on the
next run), and `kill -9` of the process running the sync part-way (then run
again). One person in seven has not consented. Runs are repeated until a run
has nothing left to send (at most four), then the destination is compared
with what it should hold:

- lost: consented records missing from the destination, or held with other
  values than the last ones sent;
- duplicated: records the destination applied more than once with the same
  content (HubSpot takes no idempotency key: a re-sent upsert is applied
  again, the same values written twice, harmless in effect but counted here);
- sent without consent: persons without consent found in any request;
- logged failed though applied: records the destination applied during a run
  whose log says `failed` (must be 0: such a batch is logged `unknown`).

Prints the table and writes `data/benchmarks/faults.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from benchmarks.measure import child_environment
from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.hubspot import HubSpotDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row, fields_hash
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "faults.json"
TOKEN = "pat-na1-bench-faults-000000"
SYNC = "bench_faults"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"


class HubSpotFaultServer:
    """Contacts batch upsert and archive, HubSpot-shaped, with one planned fault per
    upsert request number (1-based):

    - `429`: rate limited, with `Retry-After` (HubSpot's secondly limit body);
    - `500`, `502`, `503`: server errors, nothing applied;
    - `slow`: applied, then answered after `slow_seconds`;
    - `drop_before`: the connection closed without an answer, nothing applied;
    - `drop_after`: applied, then the connection closed without an answer.

    A batch whose first input's email is in `slow_times` is answered `slow` that many
    times, whichever request numbers carry it. Inputs whose email is in `reject_once` fail alone the first time they are seen
    (207 Multi-Status, `errors[].context.ids`) and are applied after that.
    `latency` delays every answer (after applying); `on_applied(n)` is called
    after the n-th upsert request is applied, before it is answered.

    It keeps what it holds (`contacts`), how often each (email, content) was
    applied (`applied`) and every email any request carried (`seen`)."""

    def __init__(
        self,
        faults: dict[int, str] | None = None,
        slow_seconds: float = 12.0,
        retry_after: str = "1",
        reject_once: set[str] | None = None,
        latency: float = 0.0,
        on_applied=None,
        slow_times: dict[str, int] | None = None,
    ):
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # no line per request
        self.faults = faults or {}
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.reject_once = set(reject_once or ())
        self.latency = latency
        self.on_applied = on_applied
        self.slow_times = dict(slow_times or {})
        self.contacts: dict[str, dict] = {}
        self.applied: Counter = Counter()  # (email, content hash) -> times applied
        self.seen: set[str] = set()
        self.applied_keys_by_phase: dict[int, set[str]] = {}
        self.phase = 0
        self.requests: list[str] = []  # the fault (or "ok") of each upsert request
        self.keys: list[str | None] = []  # the idempotency key of each upsert request
        self.slow_in_flight = 0  # slow answers being waited for now
        self.lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()

    def _app(self, environ, start_response):
        request = Request(environ)
        return self._handle(request, environ)(environ, start_response)

    def _drop(self, environ) -> Response:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return Response(status=500)  # never reaches the client

    def _handle(self, request: Request, environ) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(json.dumps({"category": "INVALID_AUTHENTICATION"}), 401)
        inputs = request.get_json()["inputs"]
        if request.path.endswith("/batch/archive"):
            with self.lock:
                ids = {item["id"] for item in inputs}
                for email in [e for e, c in self.contacts.items() if c["id"] in ids]:
                    del self.contacts[email]
            return Response(status=204)
        if request.path.endswith("/batch/read"):
            return self._read(request.get_json())
        with self.lock:
            self.seen.update(item["id"] for item in inputs)
            number = len(self.requests) + 1
            fault = self.faults.get(number, "ok")
            first = inputs[0]["id"] if inputs else None
            if self.slow_times.get(first, 0) > 0:
                self.slow_times[first] -= 1
                fault = "slow"
            self.requests.append(fault)
            self.keys.append(request.headers.get("idempotency-key"))
        if fault == "429":
            body = {
                "status": "error",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
            }
            return Response(
                json.dumps(body), 429, {"Retry-After": self.retry_after}, "application/json"
            )
        if fault in ("500", "502", "503"):
            return Response(json.dumps({"status": "error"}), int(fault), None, "application/json")
        if fault == "drop_before":
            return self._drop(environ)
        results, errors = self._apply(inputs, number)
        if fault == "drop_after":
            return self._drop(environ)
        if fault == "slow":
            with self.lock:
                self.slow_in_flight += 1
            time.sleep(self.slow_seconds)
            with self.lock:
                self.slow_in_flight -= 1
        elif self.latency:
            time.sleep(self.latency)
        body = {"status": "COMPLETE", "results": results}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return Response(json.dumps(body), 207 if errors else 200, None, "application/json")

    def _read(self, payload: dict) -> Response:
        """HubSpot's batch read by the id property: found contacts with the properties
        asked for; the rest listed as not found (207)."""
        asked = set(payload.get("properties") or [])
        results, missing = [], []
        with self.lock:
            for item in payload["inputs"]:
                contact = self.contacts.get(item["id"])
                if contact is None:
                    missing.append(item["id"])
                    continue
                held = {k: v for k, v in contact["properties"].items() if k in asked}
                results.append({"id": contact["id"], "properties": held})
        body: dict = {"status": "COMPLETE", "results": results}
        if missing:
            error = {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing}}
            body.update(numErrors=1, errors=[error])
        return Response(json.dumps(body), 207 if missing else 200, None, "application/json")

    def _apply(self, inputs: list[dict], number: int) -> tuple[list, list]:
        results, errors = [], []
        with self.lock:
            for item in inputs:
                email = item["id"]
                if email in self.reject_once:
                    self.reject_once.discard(email)
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_LOCKED",
                            "message": "the contact is being updated; try again",
                            "context": {"ids": [email]},
                        }
                    )
                    continue
                contact = self.contacts.setdefault(
                    email, {"id": str(1000 + len(self.contacts)), "properties": {}}
                )
                contact["properties"] = {**item["properties"], "email": email}
                self.applied[(email, fields_hash(item["properties"]))] += 1
                self.applied_keys_by_phase.setdefault(self.phase, set()).add(email)
                results.append({"id": contact["id"], "properties": contact["properties"]})
        if self.on_applied is not None:
            self.on_applied(number)
        return results, errors


def persons(count: int, version: int = 1) -> list[Row]:
    """`count` persons; one in seven has not consented."""
    return [
        Row(
            f"person{i:05d}@example.org",
            f"p{i}",
            {"firstname": f"First{i}", "tier": ("gold", "silver", "bronze")[i % 3], "v": version},
            consented=i % 7 != 3,
        )
        for i in range(count)
    ]


def destination(url: str, limits: Limits | None = None) -> HubSpotDestination:
    return HubSpotDestination(url, TOKEN, limits=limits)


@dataclass
class Scenario:
    name: str
    faults: dict[int, str] = field(default_factory=dict)
    slow_seconds: float = 12.0
    read_timeout: float | None = None  # None: the client's default
    reject_share: int = 0  # every n-th consented person rejected once
    kill_after: int | None = None  # SIGKILL the syncing process after this many requests
    stuck: int = 0  # the first batch answers past the read timeout this many times


SCENARIOS = [
    Scenario("none (baseline)"),
    Scenario("429 with Retry-After", faults={1: "429", 3: "429", 4: "429"}),
    Scenario("5xx", faults={1: "500", 2: "503", 5: "502"}),
    Scenario("slow answer, 12 s (past the old 10 s timeout), applied", faults={2: "slow"}),
    Scenario(
        "slower than the read timeout (2 s), applied",
        faults={2: "slow", 3: "slow"},
        slow_seconds=3.0,
        read_timeout=2.0,
    ),
    Scenario(
        "slower than the read timeout on every attempt, applied",
        slow_seconds=3.0,
        read_timeout=2.0,
        stuck=3,
    ),
    Scenario("connection dropped before applying", faults={2: "drop_before", 5: "drop_before"}),
    Scenario("connection dropped after applying", faults={2: "drop_after", 5: "drop_after"}),
    Scenario("207 partial failure, accepted next run", reject_share=10),
    Scenario("kill -9 mid-sync, then run again", kill_after=9),
]


def _child(url: str, state: str, count: int) -> None:
    """The sync as a process of its own, for `kill -9`."""
    conn = duckdb.connect(state)
    create_declared_tables(conn)
    run_sync(conn, SYNC, "upsert", persons(count), destination(url), "run-1")
    conn.close()


def _killed_run(server: HubSpotFaultServer, state: Path, count: int, kill_after: int) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.faults", "--child", server.url]
        + [str(state), str(count)],
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def kill(number: int) -> None:
        if number == kill_after:
            os.kill(child.pid, signal.SIGKILL)

    server.on_applied = kill
    _, stderr = child.communicate(timeout=300)
    server.on_applied = None
    if child.returncode != -signal.SIGKILL:
        raise RuntimeError(
            f"the sync was not killed ({child.returncode}): {stderr.decode()[-500:]}"
        )


def run_scenario(scenario: Scenario, count: int) -> dict:
    rows = persons(count)
    consented = {r.key: r for r in rows if r.consented}
    not_consented = {r.key for r in rows if not r.consented}
    reject = {
        k
        for i, k in enumerate(sorted(consented))
        if scenario.reject_share and i % scenario.reject_share == 0
    }
    limits = None
    if scenario.read_timeout is not None:
        limits = Limits(
            batch_size=100, requests_per_second=9, timeout_seconds=scenario.read_timeout
        )
    started = time.perf_counter()
    runs, logged_failed_applied, unknown, failed = 0, 0, 0, 0
    with (
        HubSpotFaultServer(
            faults=scenario.faults,
            slow_seconds=scenario.slow_seconds,
            reject_once=reject,
            latency=0.1 if scenario.kill_after else 0.0,
            slow_times={min(consented): scenario.stuck} if scenario.stuck else None,
        ) as server,
        tempfile.TemporaryDirectory(prefix="cdp-bench-faults-") as tmp,
    ):
        state = Path(tmp) / "state.duckdb"
        if scenario.kill_after:
            server.phase = 1
            _killed_run(server, state, count, scenario.kill_after)
            runs = 1
        conn = duckdb.connect(str(state))
        create_declared_tables(conn)
        try:
            for _ in range(4):
                runs += 1
                server.phase = runs
                run_id = f"run-{runs}"
                report = run_sync(
                    conn, SYNC, "upsert", rows, destination(server.url, limits), run_id
                )
                logged = dict(
                    conn.execute(
                        "SELECT status, list(key) FROM activation.sync_log "
                        "WHERE sync = ? AND run_id = ? GROUP BY status",
                        [SYNC, run_id],
                    ).fetchall()
                )
                applied = server.applied_keys_by_phase.get(runs, set())
                logged_failed_applied += len(set(logged.get("failed", [])) & applied)
                unknown += len(logged.get("unknown", []))
                failed += len(logged.get("failed", []))
                if not report.planned:
                    break
        finally:
            conn.close()
        held = {email: c["properties"] for email, c in server.contacts.items()}
    seconds = time.perf_counter() - started
    lost = sum(
        1
        for key, row in consented.items()
        if key not in held
        or {k: v for k, v in held[key].items() if k != "email"}
        != {k: "" if v is None else str(v) for k, v in row.fields.items()}
    )
    duplicated = len({email for (email, _), n in server.applied.items() if n > 1})
    return {
        "fault": scenario.name,
        "records_expected": len(consented),
        "lost": lost,
        "duplicated": duplicated,
        "sent_without_consent": len(server.seen & not_consented),
        "logged_failed_though_applied": logged_failed_applied,
        "logged_unknown": unknown,
        "logged_failed": failed,
        "runs": runs,
        "requests": len(server.requests),
        "seconds": round(seconds, 1),
    }


HEADERS = [
    "fault",
    "lost",
    "duplicated",
    "sent without consent",
    "logged failed though applied",
    "logged unknown",
    "runs",
    "seconds",
]


def table_rows(results: list[dict]) -> list[tuple]:
    return [
        (
            r["fault"],
            r["lost"],
            r["duplicated"],
            r["sent_without_consent"],
            r["logged_failed_though_applied"],
            r["logged_unknown"],
            r["runs"],
            r["seconds"],
        )
        for r in results
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2100)
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "STATE", "COUNT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, state, count = args.child
        _child(url, state, int(count))
        return
    results = []
    for scenario in SCENARIOS:
        results.append(run_scenario(scenario, args.persons))
        print(f"  {scenario.name}: {results[-1]['seconds']} s", flush=True)
    figures = {
        "persons": args.persons,
        "consented": results[0]["records_expected"],
        "destination": "HubSpot-shaped contacts batch upsert (local)",
        "retry_policy": asdict(RetryPolicy()),
        "rows": results,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    print()
    print(
        f"Fault matrix: {args.persons:,} persons ({figures['consented']:,} consented), "
        "HubSpot-shaped destination"
    )
    print(render_table(HEADERS, table_rows(results)))
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
