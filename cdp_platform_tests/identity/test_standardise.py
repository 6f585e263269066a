"""Standardised identity records, built from real source tables in a real warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp_platform.identity.records import build_identity_records
from cdp_platform.identity_config import load_identity_config
from cdp_platform.phones import to_e164
from cdp_platform.resources.warehouse import connect
from cdp_platform.source_contracts import SOURCES
from cdp_platform.sources.loading import write_partitions
from cdp_platform.sources.readers import read_day_file
from cdp_platform_tests.sources.samples import record, write_day_file


@pytest.mark.parametrize(
    "raw",
    [
        "07700 900123",
        "+44 7700 900123",
        "0044 7700 900123",
        "+44 (0)7700-900-123",
        "(07700) 900 123",
        "07700-900123",
        " 447700900123 ",
    ],
)
def test_phone_formats_of_one_number_agree_in_e164(raw):
    expected = "+447700900123"
    assert to_e164(raw if not raw.strip().startswith("44") else "+" + raw.strip()) == expected


@pytest.mark.parametrize("raw", ["n/a", "", "12", "call me", None])
def test_junk_phones_have_no_e164(raw):
    assert to_e164(raw) is None


def test_foreign_numbers_keep_their_country():
    assert to_e164("+353 87 123 4567") == "+353871234567"
    assert to_e164("(202) 555-0143", default_region="US") == "+12025550143"


def load(landing: Path, db: Path, files: dict[str, list]) -> None:
    with connect(db) as conn:
        for source, records in files.items():
            path = write_day_file(landing, source, "2026-08-01", records)
            parsed = read_day_file(path, SOURCES[source])
            write_partitions(
                conn, SOURCES[source], [("2026-08-01", path.name, parsed)], "t", phone_region="GB"
            )
        build_identity_records(conn, load_identity_config())


def records(db: Path, where: str = "TRUE") -> dict[tuple[str, str], dict]:
    with connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM staging.identity_records WHERE {where}")
        names = [d[0] for d in cursor.description]
        return {(r[0], r[1]): dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def test_names_emails_phones_dates_and_places_are_standardised(landing, db):
    load(
        landing,
        db,
        {
            "crm_contacts": [
                record(
                    "crm_contacts",
                    {
                        "First Name": " JOSÉ ",
                        "Last Name": "o'Brien-Smith ",
                        "Email": " J.Smith+Shop@GMAIL.com ",
                        "Street Address": "1 High St.",
                        "Country/Region": "United Kingdom",
                        "Postal Code": "sw1a 1aa",
                    },
                ),
            ],
            "pos_loyalty": [
                record("pos_loyalty", {"first_name": "Bob", "phone": "+44 (0)7700-900-123"})
            ],
            "email_subscribers": [
                record(
                    "email_subscribers",
                    {"Email Address": "test@test.com", "Phone Number": "0000000000"},
                )
            ],
        },
    )
    rows = records(db)
    crm = rows[("crm_contacts", "101")]
    assert (crm["first_name"], crm["last_name"]) == ("jose", "o'brien-smith")
    assert crm["email"] == "j.smith+shop@gmail.com"
    assert crm["email_match"] == "jsmith@gmail.com"
    assert crm["phone"] == "+447700900123"
    assert crm["street"] == "1 high street"
    assert (crm["postcode"], crm["country"]) == ("SW1A1AA", "GB")
    assert str(crm["dob"]) == "1980-01-02"
    assert crm["crm_record_id"] == "101"
    pos = rows[("pos_loyalty", "6000123412341234")]
    assert (pos["first_name"], pos["first_name_canonical"]) == ("bob", "robert")
    assert pos["phone"] == "+447700900123"
    assert str(pos["dob"]) == "1980-01-02"  # DD/MM/YYYY on the till
    assert pos["loyalty_card"] == "6000123412341234"
    placeholder = rows[("email_subscribers", "L-1")]
    assert placeholder["email"] is None and placeholder["phone"] is None


def test_shop_default_phone_and_placeholder_names_are_never_evidence(landing, db):
    load(
        landing,
        db,
        {
            "shop_orders": [
                record(
                    "shop_orders",
                    {"Billing Phone": "+44 20 7946 0000", "Billing Name": "Guest Customer"},
                )
            ]
        },
    )
    order = records(db)[("shop_orders", "#1042")]
    assert order["phone"] is None
    assert (order["first_name"], order["last_name"]) == (None, "customer") or order[
        "first_name"
    ] is None


def test_one_record_per_browser_with_its_latest_identity(landing, db):
    events = [
        record(
            "web_events",
            messageId="m1",
            type="page",
            userId=None,
            traits=None,
            timestamp="2026-08-01T09:00:00Z",
        ),
        record(
            "web_events",
            messageId="m2",
            timestamp="2026-08-01T10:00:00Z",
            traits={"email": "old@example.com", "firstName": "Rob"},
        ),
        record(
            "web_events",
            messageId="m3",
            timestamp="2026-08-01T11:00:00Z",
            userId="u-77",
            traits={"email": "New@Example.com"},
        ),
        record(
            "web_events",
            messageId="m4",
            anonymousId="anon-2",
            type="page",
            userId=None,
            traits=None,
        ),
    ]
    load(landing, db, {"web_events": events})
    rows = records(db)
    assert set(rows) == {("web_events", "anon-1"), ("web_events", "anon-2")}
    browser = rows[("web_events", "anon-1")]
    assert (browser["email"], browser["user_id"], browser["first_name"]) == (
        "new@example.com",
        "u-77",
        "rob",
    )
    assert browser["anonymous_id"] == "anon-1"
    assert rows[("web_events", "anon-2")]["email"] is None


def test_shop_orders_give_one_record_per_order_from_its_first_line(landing, db):
    lines = [
        record("shop_orders"),
        record("shop_orders", {"Billing Name": "", "Lineitem sku": "TEE"}),
    ]
    load(landing, db, {"shop_orders": lines})
    order = records(db)[("shop_orders", "#1042")]
    assert (order["first_name"], order["last_name"]) == ("rob", "smith")
    assert order["email"] == "rob.smith@example.com"


def test_invalid_config_names_the_file_and_field(tmp_path):
    path = tmp_path / "identity.yaml"
    path.write_text("blocked:\n  emails: [a@b.com]\n  phonez: []\n")
    with pytest.raises(ValueError, match=r"(?s)identity\.yaml: .*blocked\.phonez"):
        load_identity_config(path)


def test_a_browser_signed_in_to_two_accounts_is_evidence_for_neither(landing, db):
    events = [
        record("web_events", messageId="m1", userId="u-1", traits={"email": "ann@example.com"}),
        record(
            "web_events",
            messageId="m2",
            userId="u-2",
            traits={"email": "bob@example.com"},
            timestamp="2026-08-01T18:00:00Z",
        ),
    ]
    load(landing, db, {"web_events": events})
    browser = records(db)[("web_events", "anon-1")]
    assert (browser["email"], browser["user_id"], browser["first_name"]) == (None, None, None)
    assert browser["anonymous_id"] == "anon-1"  # still a record, so still mapped to a person


def test_titles_are_taken_off_first_names(landing, db):
    """An honorific before a first name is not the name; a title alone is what
    was typed, and a first name that only looks like a title (Earl) is kept."""
    typed = {
        "201": "Dr Jane",
        "202": "SIR",
        "203": "Mr. John",
        "204": "Earl",
        "205": "Lady Mary Ann",
    }
    load(
        landing,
        db,
        {
            "crm_contacts": [
                record("crm_contacts", {"Record ID": rid, "First Name": first, "Email": ""})
                for rid, first in typed.items()
            ]
        },
    )
    rows = records(db)
    assert {rid: rows[("crm_contacts", rid)]["first_name"] for rid in typed} == {
        "201": "jane",
        "202": "sir",
        "203": "john",
        "204": "earl",
        "205": "mary ann",
    }
    assert rows[("crm_contacts", "203")]["first_name_canonical"] == "john"
