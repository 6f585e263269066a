"""Typing, quarantine and current-state rules, through real DuckDB writes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cdp_platform.resources.warehouse import connect
from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.loading import write_partitions
from cdp_platform.sources.readers import read_day_file
from cdp_platform_tests.sources.samples import record, write_day_file


def load(landing: Path, source: str, days: dict[str, list], db: Path):
    spec = SOURCES[source]
    files = []
    for day, records in days.items():
        if records is None:
            files.append((day, None, None))
            continue
        path = write_day_file(landing, source, day, records)
        files.append((day, f"{source}/{path.name}", read_day_file(path, spec)))
    with connect(db) as conn:
        return write_partitions(conn, spec, files, run_id="test-run", phone_region="GB")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def rows(db: Path, sql: str) -> list[tuple]:
    with connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("source", list(SOURCES))
def test_valid_sample_of_every_source_loads_typed(landing, db, source):
    result = load(landing, source, {"2026-08-01": [record(source)]}, db)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    spec = SOURCES[source]
    if spec.modified_at:
        (modified,) = rows(db, f"SELECT {spec.modified_at} FROM {spec.current_table}")[0]
        assert modified is not None and modified.year == 2026


def test_timestamps_of_every_contract_format_are_parsed_to_utc(landing, db):
    load(landing, "shop_orders", {"2026-08-01": [record("shop_orders")]}, db)
    (created,) = rows(
        db, "SELECT strftime(created_at, '%Y-%m-%d %H:%M:%S') FROM sources.shop_orders"
    )[0]
    assert created == "2026-08-01 07:50:26"  # +0200 shifted to UTC
    load(landing, "crm_contacts", {"2026-08-01": [record("crm_contacts")]}, db)
    (modified,) = rows(
        db, "SELECT strftime(last_modified_date, '%H:%M') FROM sources.crm_contacts"
    )[0]
    assert modified == "09:30"


@pytest.mark.parametrize(
    ("source", "changes", "reason"),
    [
        (
            "crm_contacts",
            {"Last Modified Date": "not a date"},
            '"Last Modified Date" is not a timestamp',
        ),
        ("crm_contacts", {"Last Modified Date": ""}, 'missing required field "Last Modified Date"'),
        ("crm_contacts", {"Record ID": "  "}, 'empty natural key "Record ID"'),
        ("shop_orders", {"Total": "44.9O"}, '"Total" is not a number'),
        ("pos_loyalty", {"points_balance": "lots"}, '"points_balance" is not a whole number'),
        (
            "email_subscribers",
            {"LAST_CHANGED": "2026-13-45 10:00:00"},
            '"LAST_CHANGED" is not a timestamp',
        ),
        (
            "privacy_requests",
            {"type": "FORGET"},
            '"type" must be one of DELETE|SUPPRESS|UNSUPPRESS',
        ),
        ("web_events", {"anonymousId": None}, 'empty natural key "anonymousId"'),
        ("web_events", {"type": "screen"}, '"type" must be one of identify|track|page'),
        ("support_tickets", {"updated_at": None}, 'missing required field "updated_at"'),
    ],
)
def test_bad_values_are_quarantined_with_a_reason_naming_the_field(
    landing, db, source, changes, reason
):
    bad = record(source, changes)
    result = load(landing, source, {"2026-08-02": [record(source), bad]}, db)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    quarantined = rows(db, "SELECT source, file, line, raw, reason FROM sources.quarantine")
    spec = SOURCES[source]
    assert quarantined == [
        (
            source,
            f"{source}/2026-08-02.{spec.extension}",
            3 if spec.format == "csv" else 2,
            quarantined[0][3],
            reason,
        )
    ]
    assert quarantined[0][3]  # the raw line is kept verbatim


def test_json_fields_are_extracted_with_nested_paths_and_nulls(landing, db):
    event = record("web_events", userId=None, properties={"order_id": "#1042", "total": 44.99})
    load(landing, "web_events", {"2026-08-01": [event, "{broken"]}, db)
    row = rows(
        db,
        "SELECT source_record_id, user_id, trait_email, page_path, campaign_source, "
        "properties->>'$.order_id', traits->>'$.firstName', context_ip FROM sources.web_events",
    )
    assert row == [
        ("anon-1", None, "rob@example.com", "/", "newsletter", "#1042", "Rob", "203.0.113.9")
    ]
    assert rows(db, "SELECT line, reason FROM sources.quarantine") == [
        (2, "invalid JSON (Expecting property name enclosed in double quotes at column 2)")
    ]


def test_support_ticket_numeric_id_becomes_text_key(landing, db):
    load(landing, "support_tickets", {"2026-08-01": [record("support_tickets")]}, db)
    assert rows(
        db,
        "SELECT source_record_id, requester_email, satisfaction_score FROM sources.support_tickets",
    ) == [("501", "rob@example.com", "unoffered")]


def test_empty_optional_values_are_loaded_not_quarantined(landing, db):
    sparse = record(
        "pos_loyalty",
        {"email": "", "phone": "n/a", "birth_date": "", "points_balance": "", "enrolled_at": ""},
    )
    result = load(landing, "pos_loyalty", {"2026-08-01": [sparse]}, db)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)


def test_current_table_keeps_latest_version_by_source_timestamp_then_file_date(landing, db):
    load(
        landing,
        "crm_contacts",
        {
            "2026-08-01": [
                record(
                    "crm_contacts",
                    {"Last Name": "Smith", "Last Modified Date": "2026-08-01T10:00:00Z"},
                )
            ],
            # a later file carrying an older edit (a late export) must not win
            "2026-08-03": [
                record(
                    "crm_contacts",
                    {"Last Name": "Old", "Last Modified Date": "2026-07-30T10:00:00Z"},
                )
            ],
            "2026-08-02": [
                record(
                    "crm_contacts",
                    {"Last Name": "Jones", "Last Modified Date": "2026-08-02T10:00:00Z"},
                )
            ],
        },
        db,
    )
    assert rows(db, "SELECT last_name FROM sources.crm_contacts") == [("Jones",)]
    assert rows(db, "SELECT count(*) FROM sources.crm_contacts_raw") == [(3,)]


def test_order_versions_replace_all_line_items(landing, db):
    first = [
        record("shop_orders"),
        record("shop_orders", {"Lineitem sku": "TEE", "Total": "", "Financial Status": ""}),
    ]
    refunded = [record("shop_orders", {"Financial Status": "refunded"})]
    load(landing, "shop_orders", {"2026-08-01": first}, db)
    assert rows(db, "SELECT count(*) FROM sources.shop_orders") == [(2,)]
    load(landing, "shop_orders", {"2026-08-05": refunded}, db)
    assert rows(db, "SELECT financial_status, total FROM sources.shop_orders") == [
        ("refunded", Decimal("44.99"))
    ]


def test_web_events_are_deduplicated_by_message_not_by_anonymous_id(landing, db):
    events = [
        record("web_events"),
        record("web_events", messageId="msg-2", type="page"),
        record("web_events"),  # the same message delivered twice
    ]
    load(landing, "web_events", {"2026-08-01": events}, db)
    assert rows(
        db, "SELECT count(*), count(DISTINCT source_record_id) FROM sources.web_events"
    ) == [(2, 1)]


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    tables = ["sources.crm_contacts_raw", "sources.crm_contacts", "sources.quarantine"]
    return {t: rows(db, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}


def test_rewriting_a_partition_leaves_tables_identical(landing, db):
    days = {
        "2026-08-01": [record("crm_contacts"), "broken,row"],
        "2026-08-02": [
            record("crm_contacts", {"Record ID": "7", "Last Modified Date": "2026-08-02T00:00:00Z"})
        ],
    }
    load(landing, "crm_contacts", days, db)
    before = _snapshot(db)
    load(landing, "crm_contacts", {"2026-08-01": days["2026-08-01"]}, db)
    load(landing, "crm_contacts", days, db)
    assert _snapshot(db) == before
    assert len(before["sources.quarantine"]) == 1


def test_a_day_without_file_empties_its_partition(landing, db):
    load(landing, "pos_transactions", {"2026-08-01": [record("pos_transactions")]}, db)
    (landing / "pos_transactions" / "2026-08-01.csv").unlink()
    result = load(landing, "pos_transactions", {"2026-08-01": None}, db)
    assert result.rows_loaded == 0
    assert rows(db, "SELECT count(*) FROM sources.pos_transactions") == [(0,)]
