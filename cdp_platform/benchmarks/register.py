"""A person register with known answers, from a file, as a CRM export.

Any Parquet or CSV file of person records with a column naming each
record's true person can be measured, for example Splink's
`historical_figures_with_errors_50k` (real historical people with injected
errors, names and dates as typed, many fields missing). Its columns map to
the CRM export's boxes: first name, surname, date of birth, postcode, and
a town (the birth place in that file). Columns the file lacks stay empty;
the shipped identity configuration is what is measured.

    python -m cdp_platform.benchmarks.register FILE --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from cdp_platform.benchmarks.febrl import DAY, MODIFIED, _write_csv, _write_truth

SOURCE = "crm_contacts"
# CRM export box -> the register's column (Splink's example data sets' names).
COLUMNS = {
    "First Name": "first_name",
    "Last Name": "surname",
    "Date of Birth": "dob",
    "Postal Code": "postcode_fake",
    "City": "birth_place",
}
TRUE_PERSON = "cluster"


def write_register(source_file: Path, out: Path) -> Path:
    """Landing files and ground truth from `source_file`; returns the landing folder."""
    reader = "read_parquet" if source_file.suffix == ".parquet" else "read_csv_auto"
    relation = duckdb.sql(f"SELECT * FROM {reader}(?)", params=[str(source_file)])
    present = set(relation.columns)
    if TRUE_PERSON not in present:
        raise ValueError(f"{source_file}: no '{TRUE_PERSON}' column naming each record's person")
    rows, truth = [], []
    for n, record in enumerate(relation.fetchall(), start=1):
        values = dict(zip(relation.columns, record, strict=True))
        record_id = str(n)
        row = {box: _text(values.get(column)) for box, column in COLUMNS.items()}
        row |= {"Record ID": record_id, "Create Date": MODIFIED, "Last Modified Date": MODIFIED}
        rows.append(row)
        truth.append((SOURCE, record_id, str(values[TRUE_PERSON])))
    landing = out / "landing"
    _write_csv(landing, SOURCE, rows)
    _write_truth(out, truth)
    return landing


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="Parquet or CSV with a 'cluster' column")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(write_register(args.file, args.out), f"(records dated {DAY})")


if __name__ == "__main__":
    main()
