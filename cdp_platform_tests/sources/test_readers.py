"""Reading day files: line numbers, raw text, structural errors, unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.readers import SourceFileError, read_day_file
from cdp_platform_tests.sources.samples import record, write_day_file


def test_csv_rows_keep_line_numbers_and_raw_text_across_quoted_newlines(landing: Path):
    multi = record("crm_contacts", {"Record ID": "102", "Street Address": "Flat 2\n1 High St"})
    path = write_day_file(
        landing,
        "crm_contacts",
        "2026-08-01",
        [record("crm_contacts"), multi, record("crm_contacts", {"Record ID": "103"})],
    )
    parsed = read_day_file(path, SOURCES["crm_contacts"])
    assert parsed.lines == [2, 3, 5]
    assert parsed.columns["record_id"] == ["101", "102", "103"]
    assert parsed.columns["street_address"][1] == "Flat 2\n1 High St"
    assert parsed.raws[1].startswith("102,") and "\n1 High St" in parsed.raws[1]
    assert parsed.structural_errors == [None, None, None]


def test_csv_wrong_field_count_is_a_row_error_not_a_file_error(landing: Path):
    path = write_day_file(
        landing,
        "pos_transactions",
        "2026-08-01",
        [record("pos_transactions"), "R-2,,S01", record("pos_transactions", receipt_id="R-3")],
    )
    parsed = read_day_file(path, SOURCES["pos_transactions"])
    assert parsed.row_count == 3
    assert parsed.structural_errors[1] == "expected 7 fields as in the header, found 3"
    assert parsed.raws[1] == "R-2,,S01"
    assert parsed.columns["receipt_id"] == ["R-1", None, "R-3"]


def test_csv_header_may_reorder_columns_and_carry_extras(landing: Path):
    path = landing / "pos_transactions" / "2026-08-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "\ufeffitems,receipt_id,card_number,store_id,purchased_at,total,currency,note\n3,R-9,,S02,2026-08-01 10:00:00,9.99,GBP,x\n\n"
    )
    parsed = read_day_file(path, SOURCES["pos_transactions"])
    assert parsed.columns["receipt_id"] == ["R-9"]
    assert parsed.columns["items"] == ["3"]
    assert parsed.extra_headers == ["note"]


def test_missing_required_column_fails_the_file_naming_it(landing: Path):
    path = landing / "crm_contacts" / "2026-08-01.csv"
    path.parent.mkdir(parents=True)
    headers = [h for h in SOURCES["crm_contacts"].headers if h != "Last Modified Date"]
    path.write_text(",".join(headers) + "\n")
    with pytest.raises(
        SourceFileError, match=r"2026-08-01\.csv: missing required column\(s\) 'Last Modified Date'"
    ):
        read_day_file(path, SOURCES["crm_contacts"])


def test_a_file_from_before_a_contract_extension_still_loads(landing: Path):
    """pos_loyalty gained optional street and city columns; older exports lack them."""
    path = landing / "pos_loyalty" / "2026-08-01.csv"
    path.parent.mkdir(parents=True)
    old_headers = [h for h in SOURCES["pos_loyalty"].headers if h not in ("street", "city")]
    row = {h: "" for h in old_headers} | {
        "card_number": "6000100000000001",
        "updated_at": "2026-08-01 10:00:00",
    }
    path.write_text(",".join(old_headers) + "\n" + ",".join(row[h] for h in old_headers) + "\n")
    parsed = read_day_file(path, SOURCES["pos_loyalty"])
    assert parsed.columns["card_number"] == ["6000100000000001"]
    assert parsed.columns["street"] == [None] and parsed.columns["city"] == [None]


def test_non_utf8_file_fails_naming_file_and_line(landing: Path):
    path = landing / "email_subscribers" / "2026-08-01.csv"
    path.parent.mkdir(parents=True)
    header = ",".join(SOURCES["email_subscribers"].headers)
    path.write_bytes(header.encode() + b"\nren\xe9@example.com,Ren\xe9\n")
    with pytest.raises(SourceFileError) as error:
        read_day_file(path, SOURCES["email_subscribers"])
    assert str(path) in str(error.value)
    assert "not valid UTF-8 (byte 0xe9 on line 2)" in str(error.value)


def test_empty_file_is_an_empty_partition(landing: Path):
    path = landing / "shop_orders" / "2026-08-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert read_day_file(path, SOURCES["shop_orders"]).row_count == 0


def test_jsonl_bad_lines_are_row_errors_and_blank_lines_are_not_records(landing: Path):
    path = write_day_file(
        landing,
        "web_events",
        "2026-08-01",
        [
            record("web_events"),
            '{"messageId": "m2", "type": "tra',
            "",
            '["an", "array"]',
            record("web_events", messageId="m3"),
        ],
    )
    parsed = read_day_file(path, SOURCES["web_events"])
    assert parsed.json_lines
    assert parsed.lines == [1, 2, 4, 5]  # the blank line 3 is not a record
    assert parsed.structural_errors[0] is None
    assert parsed.structural_errors[1].startswith("invalid JSON (Unterminated string")
    assert parsed.structural_errors[2] == "line is JSON list, not an object"
    assert parsed.raws[3].startswith('{"messageId": "m3"')


def test_every_source_sample_reads_without_errors(landing: Path):
    for name in SOURCES:
        path = write_day_file(landing, name, "2026-08-01", [record(name)])
        parsed = read_day_file(path, SOURCES[name])
        assert parsed.structural_errors == [None], name
