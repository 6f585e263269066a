"""The demo generator: deterministic, contract-shaped, honest about what it broke."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from cdp_platform.demo.generator import generate
from cdp_platform.demo.pools import NICKNAMES
from cdp_platform.source_contracts import PERSON_SOURCES, SOURCES, SourceSpec

PERSONS, DAYS = 400, 20


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    manifest = generate(out, persons=PERSONS, days=DAYS, start=date(2026, 8, 1), seed=11)
    return out, manifest


def _timestamp_ok(text: str) -> bool:
    text = text.strip()
    for parse in (
        lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")),
        lambda t: datetime.strptime(t, "%Y-%m-%d %H:%M:%S %z"),
    ):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def _number_ok(text: str, integer: bool) -> bool:
    try:
        int(text) if integer else float(text)
        return True
    except ValueError:
        return False


def _field(record: dict, name: str):
    value = record
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def malformed_reason(spec: SourceSpec, record: dict | None) -> str | None:
    """The contract's rules, restated independently of the loader."""
    if record is None:
        return "structure"
    for col in spec.columns:
        value = _field(record, col.name)
        text = "" if value is None else str(value).strip()
        if (col.required or col.column == spec.key) and not text:
            return f"missing {col.name}"
        if not text:
            continue
        if col.type == "timestamp" and not _timestamp_ok(text):
            return f"timestamp {col.name}"
        if col.type in {"number", "integer"} and not _number_ok(text, col.type == "integer"):
            return f"number {col.name}"
        if col.choices and text.upper() not in {c.upper() for c in col.choices}:
            return f"choice {col.name}"
    return None


def read_records(path: Path, spec: SourceSpec) -> list[dict | None]:
    """Every record of a day file; None for one that cannot be split into fields."""
    if spec.format == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header = rows[0]
        assert header == spec.headers, path
        return [
            dict(zip(header, row, strict=True)) if len(row) == len(header) else None
            for row in rows[1:]
        ]
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        records.append(obj if isinstance(obj, dict) else None)
    return records


def test_same_seed_gives_identical_files_and_another_seed_does_not(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    generate(again, persons=PERSONS, days=DAYS, start=date(2026, 8, 1), seed=11)
    assert tree_digest(again) == tree_digest(out)
    other = tmp_path / "other"
    generate(other, persons=PERSONS, days=DAYS, start=date(2026, 8, 1), seed=12)
    assert tree_digest(other) != tree_digest(out)


def test_every_source_has_files_in_the_contract_layout(demo):
    out, manifest = demo
    for name, spec in SOURCES.items():
        files = sorted((out / "landing" / name).glob(f"*.{spec.extension}"))
        assert files, name
        for path in files:
            day = date.fromisoformat(path.stem)
            assert date(2026, 8, 1) <= day < date(2026, 8, 21)
        assert manifest["totals"][name]["files"] == len(files)


def test_manifest_counts_equal_an_independent_check_of_every_file(demo):
    out, manifest = demo
    checked = 0
    for label, info in manifest["files"].items():
        source = label.split("/")[0]
        records = read_records(out / "landing" / label, SOURCES[source])
        bad = [r for r in records if malformed_reason(SOURCES[source], r)]
        assert (len(records), len(bad)) == (info["rows"], info["malformed"]), label
        checked += len(bad)
    assert checked > 0


def test_ground_truth_covers_exactly_the_keys_of_well_formed_person_records(demo):
    out, _ = demo
    with (out / "ground_truth.csv").open() as handle:
        truth = {
            (r["source"], r["source_record_id"]): r["true_person"] for r in csv.DictReader(handle)
        }
    expected = set()
    for source in [*PERSON_SOURCES, "pos_transactions"]:
        spec = SOURCES[source]
        key_name = spec.column(spec.key).name
        for path in (out / "landing" / source).iterdir():
            for record in read_records(path, spec):
                if malformed_reason(spec, record):
                    continue
                if source == "pos_transactions" and not record["card_number"]:
                    continue
                expected.add((source, str(record[key_name]).strip()))
    assert set(truth) == expected
    assert len(set(truth.values())) > PERSONS * 0.8


def _truth(out: Path) -> dict[tuple[str, str], str]:
    with (out / "ground_truth.csv").open() as handle:
        return {
            (r["source"], r["source_record_id"]): r["true_person"] for r in csv.DictReader(handle)
        }


def _well_formed(out: Path, source: str):
    spec = SOURCES[source]
    for path in sorted((out / "landing" / source).iterdir()):
        for record in read_records(path, spec):
            if not malformed_reason(spec, record):
                yield record


def test_planted_hard_cases_are_present(demo):
    out, manifest = demo
    truth = _truth(out)
    cases = manifest["hard_cases"]
    assert cases["twins"] and cases["household_emails"] and cases["surname_changes"]

    # twins: two people, same birthday, in CRM or loyalty records alike
    contacts_by_person = defaultdict(list)
    for rec in _well_formed(out, "crm_contacts"):
        contacts_by_person[truth[("crm_contacts", rec["Record ID"])]].append(rec)

    # a shared household email used by two different people's orders
    shared = {c["email"] for c in cases["household_emails"]}
    order_people = defaultdict(set)
    for rec in _well_formed(out, "shop_orders"):
        if rec["Email"].strip().lower() in shared:
            order_people[rec["Email"].strip().lower()].add(truth[("shop_orders", rec["Name"])])
    assert any(len(people) > 1 for people in order_people.values())

    # a nickname: one person appearing under a formal name and its nickname
    nick_of = {n: formal for formal, nicks in NICKNAMES.items() for n in nicks}
    names_by_person = defaultdict(set)
    for source, first_field in (
        ("crm_contacts", "First Name"),
        ("email_subscribers", "First Name"),
    ):
        key = SOURCES[source].column(SOURCES[source].key).name
        for rec in _well_formed(out, source):
            names_by_person[truth[(source, rec[key])]].add(rec[first_field].strip())
    assert any(
        any(nick_of.get(name) in names for name in names) for names in names_by_person.values()
    )

    # a gmail dot or +tag variant
    emails = [rec["Email"] for rec in _well_formed(out, "shop_orders")]
    assert any("+" in e and "@gmail.com" in e.lower() for e in emails)

    # a surname change across versions of one CRM record
    versions = defaultdict(set)
    for rec in _well_formed(out, "crm_contacts"):
        versions[rec["Record ID"]].add(rec["Last Name"].strip())
    assert any(len(names) > 1 for names in versions.values())


def test_shared_device_identifies_as_two_people(tmp_path):
    manifest = generate(tmp_path, persons=3000, days=10, seed=3)
    (device, *_) = manifest["hard_cases"]["shared_devices"]
    user_ids = set()
    for rec in _well_formed(tmp_path, "web_events"):
        if rec["anonymousId"] == device["anonymousId"] and rec["type"] == "identify":
            user_ids.add(rec["userId"])
    assert len(user_ids) == 2
    assert _truth(tmp_path)[("web_events", device["anonymousId"])] == device["persons"][0]


def test_privacy_requests_name_an_identifier_of_their_true_person(demo):
    out, manifest = demo
    truth = _truth(out)
    email_fields = {
        "crm_contacts": "Email",
        "email_subscribers": "Email Address",
        "shop_orders": "Email",
        "support_tickets": "requester.email",
        "web_events": "traits.email",
        "pos_loyalty": "email",
    }
    emails_of = defaultdict(set)
    for source, field in email_fields.items():
        key = SOURCES[source].column(SOURCES[source].key).name
        for rec in _well_formed(out, source):
            value = _field(rec, field)
            if value:
                emails_of[str(value).strip().lower()].add(truth[(source, str(rec[key]).strip())])
    requests = list(_well_formed(out, "privacy_requests"))
    assert {r["type"] for r in requests} >= {"DELETE", "SUPPRESS"}
    checked = 0
    for request in requests:
        person = manifest["privacy_requests"][request["request_id"]]
        kind, value = request["identifier_type"], request["identifier_value"].strip()
        if kind == "email":
            assert person in emails_of[value.lower()], request["request_id"]
        elif kind == "crm_record_id":
            assert truth[("crm_contacts", value)] == person
        elif kind == "loyalty_card":
            assert truth[("pos_loyalty", value)] == person
        else:
            continue
        checked += 1
    assert checked > 0


def test_committed_demo_set_is_what_the_generator_writes_by_default(tmp_path):
    from cdp_platform.settings import PROJECT_ROOT

    generate(tmp_path)  # the defaults of `cdp demo generate`
    committed = PROJECT_ROOT / "data"
    assert tree_digest(tmp_path / "landing") == tree_digest(committed / "landing")
    assert (tmp_path / "ground_truth.csv").read_bytes() == (
        committed / "ground_truth.csv"
    ).read_bytes()
