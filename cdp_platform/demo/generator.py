"""Generate a landing zone of every source, with ground truth, deterministic by seed.

    generate(out_dir, persons=2000, days=60, start=date(2026, 8, 1), seed=42)

writes `<out_dir>/landing/<source>/<YYYY-MM-DD>.<ext>`, `<out_dir>/ground_truth.csv`
(`source, source_record_id, true_person`) and `<out_dir>/demo_manifest.json`
(rows and malformed rows per file, planted hard cases, privacy-request truth).
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from datetime import date
from pathlib import Path

from cdp_platform.demo import sources as src
from cdp_platform.demo.behaviour import Shopper, draw_shopper
from cdp_platform.demo.corruption import corrupt, kinds_for, malformed_count
from cdp_platform.demo.defaults import DEFAULT_DAYS, DEFAULT_PERSONS, DEFAULT_SEED, DEFAULT_START
from cdp_platform.demo.landing import Landing
from cdp_platform.demo.pools import build_pools
from cdp_platform.demo.population import Person, build_population
from cdp_platform.source_contracts import SOURCES


def generate(
    out_dir: Path,
    persons: int = DEFAULT_PERSONS,
    days: int = DEFAULT_DAYS,
    start: date = DEFAULT_START,
    seed: int = DEFAULT_SEED,
) -> dict:
    out_dir = Path(out_dir)
    rng = random.Random(seed)
    pools = build_pools(seed)
    people, companies = build_population(rng, pools, persons, start, days)
    landing = Landing(start, days)
    shoppers = {p.pid: draw_shopper(seed, p.pid, days) for p in people}
    hard_cases = _emit_records(rng, landing, people, companies, shoppers)
    privacy_truth = hard_cases.pop("privacy_requests")

    landing_dir = out_dir / "landing"
    if landing_dir.exists():
        shutil.rmtree(landing_dir)  # a stale file from an earlier run would corrupt the truth
    files = _write_landing(random.Random(seed + 1), landing, landing_dir)
    _write_truth(landing, out_dir / "ground_truth.csv")

    totals: dict[str, dict[str, int]] = {}
    for label, info in files.items():
        total = totals.setdefault(label.split("/")[0], {"files": 0, "rows": 0, "malformed": 0})
        total["files"] += 1
        total["rows"] += info["rows"]
        total["malformed"] += info["malformed"]
    manifest = {
        "parameters": {"persons": persons, "days": days, "start": start.isoformat(), "seed": seed},
        "totals": {
            name: totals.get(name, {"files": 0, "rows": 0, "malformed": 0}) for name in SOURCES
        },
        "files": files,
        "privacy_requests": privacy_truth,
        "hard_cases": hard_cases,
        "ground_truth_records": len(landing.truth),
    }
    (out_dir / "demo_manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _emit_records(
    rng: random.Random,
    landing: Landing,
    people: list[Person],
    companies,
    shoppers: dict[str, Shopper],
) -> dict:
    counters = src.Counters()
    identifiers = {p.pid: src.Identifiers() for p in people}
    src.crm_companies(rng, landing, companies)
    orders_by_person = {
        p.pid: src.plan_orders(rng, landing, p, identifiers[p.pid], counters, shoppers[p.pid])
        for p in people
    }
    # Order numbers rise with time, as a shop's do.
    all_orders = sorted(
        (o for orders in orders_by_person.values() for o in orders), key=lambda o: (o.day, o.second)
    )
    for number, order in enumerate(all_orders, start=1001):
        order.name = f"#{number}"
    households: dict[int, list[Person]] = {}
    for person in people:
        households.setdefault(person.household, []).append(person)
    hard_cases: dict = {
        "shared_devices": [],
        "twins": [],
        "household_emails": [],
        "surname_changes": [],
        "moves": [],
    }
    for person in people:
        ids = identifiers[person.pid]
        src.crm_contacts(rng, landing, person, ids, counters)
        for order in orders_by_person[person.pid]:
            src.shop_orders(rng, landing, order, ids)
        household = households[person.household]
        shared_with = None
        if len(household) > 1 and household[0] is person and rng.random() < 0.05:
            shared_with = household[1]
        src.web_events(
            rng,
            landing,
            person,
            orders_by_person[person.pid],
            ids,
            counters,
            shared_with,
            hard_cases,
        )
        src.support_tickets(rng, landing, person, ids, counters)
        src.email_subscribers(rng, landing, person, ids, counters)
        src.pos(rng, landing, person, ids, counters, shoppers[person.pid])
        if person.twin_of:
            hard_cases["twins"].append([person.twin_of, person.pid])
        if person.new_surname:
            hard_cases["surname_changes"].append(person.pid)
        if person.new_address:
            hard_cases["moves"].append(person.pid)
    emails: dict[str, list[str]] = {}
    for person in people:
        if person.household_email:
            emails.setdefault(person.household_email, []).append(person.pid)
    hard_cases["household_emails"] = [
        {"email": email, "persons": pids} for email, pids in sorted(emails.items()) if len(pids) > 1
    ]
    hard_cases["privacy_requests"] = src.privacy_requests(
        rng, landing, people, identifiers, counters
    )
    return hard_cases


def _write_landing(rng: random.Random, landing: Landing, landing_dir: Path) -> dict[str, dict]:
    files: dict[str, dict] = {}
    serial = 0
    for (source, day), rows in sorted(
        landing.rows.items(), key=lambda item: (item[0][0], item[0][1])
    ):
        spec = SOURCES[source]
        kinds = kinds_for(spec)
        bad: dict[str, int] = {}
        output: list = list(rows)
        for _ in range(malformed_count(rng, len(rows))):
            serial += 1
            kind = rng.choice(kinds)
            bad[kind] = bad.get(kind, 0) + 1
            output.insert(
                rng.randrange(len(output) + 1), corrupt(rng, spec, rng.choice(rows), kind, serial)
            )
        path = landing_dir / source / f"{landing.day_label(day)}.{spec.extension}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec.format == "csv":
            _write_csv(path, spec.headers, output)
        else:
            _write_jsonl(path, output)
        files[f"{source}/{path.name}"] = {
            "rows": len(output),
            "malformed": sum(bad.values()),
            "malformed_kinds": dict(sorted(bad.items())),
        }
    return files


def _write_csv(path: Path, headers: list[str], rows: list) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(
            row if isinstance(row, list) else [row.get(h, "") for h in headers] for row in rows
        )


def _write_jsonl(path: Path, rows: list) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            "".join(
                (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n"
                for row in rows
            )
        )


def _write_truth(landing: Landing, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source", "source_record_id", "true_person"])
        writer.writerows([source, key, pid] for (source, key), pid in sorted(landing.truth.items()))
