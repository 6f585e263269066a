"""Survivorship rules on hand-made candidate records whose right answer is known."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from cdp_platform.profiles.survivorship import Survivorship, golden_sql, provenance_sql

COLUMNS = (
    "person_id, source, source_record_id, observed_at, first_name, email, phone, street, postcode"
)
ROWS = [
    # person p1: CRM is older than the shop order, the loyalty card newest of all
    (
        "p1",
        "crm_contacts",
        "c1",
        "2026-01-01",
        "Katherine",
        "kate@crm.example",
        "+441",
        "1 High St",
        "AB1 2CD",
    ),
    (
        "p1",
        "shop_orders",
        "#1",
        "2026-03-01",
        "Kate",
        "kate@shop.example",
        "+442",
        "9 New Rd",
        None,
    ),
    ("p1", "pos_loyalty", "l1", "2026-05-01", None, None, "+442", None, "ZZ9 9ZZ"),
    ("p1", "web_events", "w1", "2025-12-01", "K", "kate@web.example", None, None, None),
    # person p2: only a web identify
    ("p2", "web_events", "w2", "2026-02-01", "Lee", None, None, None, None),
]


def config(**groups) -> Survivorship:
    return Survivorship(
        source_priority=["crm_contacts", "shop_orders", "pos_loyalty", "web_events"],
        groups=groups,
    )


@pytest.fixture
def db():
    conn = duckdb.connect()
    conn.execute(
        "CREATE TABLE candidates (person_id VARCHAR, source VARCHAR, source_record_id VARCHAR, "
        "observed_at TIMESTAMP, first_name VARCHAR, email VARCHAR, phone VARCHAR, "
        "street VARCHAR, postcode VARCHAR)"
    )
    conn.executemany(f"INSERT INTO candidates ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    yield conn
    conn.close()


def golden(db, cfg: Survivorship) -> dict[str, dict]:
    rows = db.execute(golden_sql(cfg, "candidates")).fetchall()
    names = ["person_id", *cfg.attributes]
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


def test_source_priority_takes_the_best_source_even_when_older(db):
    result = golden(db, config(name={"attributes": ["first_name"], "rule": "source_priority"}))
    assert result["p1"]["first_name"] == "Katherine"
    assert result["p2"]["first_name"] == "Lee"  # the only value, whatever its source


def test_most_recent_takes_the_newest_non_empty_value(db):
    result = golden(db, config(email={"attributes": ["email"], "rule": "most_recent"}))
    assert result["p1"]["email"] == "kate@shop.example"  # the loyalty card, newer, has none
    assert result["p2"]["email"] is None


def test_most_frequent_takes_the_value_on_most_records(db):
    result = golden(db, config(phone={"attributes": ["phone"], "rule": "most_frequent"}))
    assert result["p1"]["phone"] == "+442"


def test_first_non_empty_takes_the_earliest(db):
    result = golden(db, config(name={"attributes": ["first_name"], "rule": "first_non_empty"}))
    assert result["p1"]["first_name"] == "K"


def test_an_address_moves_as_a_whole(db):
    cfg = config(
        address={
            "attributes": ["street", "postcode"],
            "rule": "most_recent",
            "required": ["street"],
        }
    )
    result = golden(db, cfg)
    # The newest record with a street is the shop order: its street, and its (empty)
    # postcode, never the loyalty card's postcode glued to another record's street.
    assert (result["p1"]["street"], result["p1"]["postcode"]) == ("9 New Rd", None)


def test_every_chosen_value_keeps_its_source_record_and_time(db):
    cfg = config(
        name={"attributes": ["first_name"]},
        email={"attributes": ["email"], "rule": "most_recent"},
    )
    rows = db.execute(
        f"SELECT person_id, attribute, value, source, source_record_id, CAST(observed_at AS DATE)::VARCHAR, rule "
        f"FROM ({provenance_sql(cfg, 'candidates')}) ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("p1", "email", "kate@shop.example", "shop_orders", "#1", "2026-03-01", "most_recent"),
        ("p1", "first_name", "Katherine", "crm_contacts", "c1", "2026-01-01", "source_priority"),
        ("p2", "first_name", "Lee", "web_events", "w2", "2026-02-01", "source_priority"),
    ]


def test_a_group_may_order_sources_its_own_way(db):
    cfg = config(
        phone={"attributes": ["phone"], "source_priority": ["pos_loyalty", "crm_contacts"]}
    )
    assert golden(db, cfg)["p1"]["phone"] == "+442"


def test_an_attribute_in_two_groups_or_an_unknown_rule_is_refused():
    with pytest.raises(ValidationError, match="'email' is in groups"):
        config(a={"attributes": ["email"]}, b={"attributes": ["email"]})
    with pytest.raises(ValidationError, match="rule"):
        config(a={"attributes": ["email"], "rule": "loudest"})
    with pytest.raises(ValidationError, match="required"):
        config(a={"attributes": ["street"], "required": ["postcode"]})
