"""A person register with known answers, from a file, as a CRM export.

Any Parquet or CSV file of person records with a column naming each
record's true person can be measured, for example Splink's
`historical_figures_with_errors_50k` (real historical people with injected
errors, names and dates as typed, many fields missing). Its columns map to
the CRM export's boxes: first name, surname, date of birth, postcode, and
a town (the birth place in that file). Columns the file lacks stay empty;
the shipped identity configuration is what is measured.

    python -m benchmarks.register FILE --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from benchmarks.febrl import DAY, MODIFIED, _write_csv, _write_truth

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
    conn = duckdb.connect()
    try:
        conn.execute(
            f"CREATE TABLE register AS SELECT row_number() OVER () AS n, * FROM {reader}(?)",
            [str(source_file)],
        )
        present = {row[0] for row in conn.execute("DESCRIBE register").fetchall()}
        if TRUE_PERSON not in present:
            raise ValueError(
                f"{source_file}: no '{TRUE_PERSON}' column naming each record's person"
            )
        boxes = [
            f"nullif(trim(CAST({column} AS VARCHAR)), '') AS \"{box}\""
            for box, column in COLUMNS.items()
            if column in present
        ]
        rows = conn.execute(
            f"""SELECT CAST(n AS VARCHAR) AS "Record ID", {", ".join(boxes)},
                       '{MODIFIED}' AS "Create Date", '{MODIFIED}' AS "Last Modified Date"
                FROM register ORDER BY n"""
        ).to_arrow_table()
        truth = conn.execute(
            f"SELECT '{SOURCE}', CAST(n AS VARCHAR), CAST({TRUE_PERSON} AS VARCHAR) "
            "FROM register ORDER BY n"
        ).fetchall()
    finally:
        conn.close()
    landing = out / "landing"
    _write_csv(landing, SOURCE, rows.to_pylist())
    _write_truth(out, truth)
    return landing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="Parquet or CSV with a 'cluster' column")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(write_register(args.file, args.out), f"(records dated {DAY})")


if __name__ == "__main__":
    main()
