"""Traits compiled from YAML, on hand-made sources whose answers are known."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from pydantic import ValidationError

from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.profiles.traits import Trait, build_traits
from cdp_platform.resources.warehouse import create_declared_tables

AS_OF = "2026-09-30"


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        "CREATE TABLE sources.shop_orders AS SELECT * FROM (VALUES "
        # order, day loaded, line, status, created, total
        "('#1', DATE '2026-06-01', 1, 'paid', TIMESTAMPTZ '2026-06-01 10:00:00+00', 40.00),"
        "('#1', DATE '2026-06-01', 2, NULL, NULL, NULL),"  # a second line item
        "('#2', DATE '2026-09-20', 1, 'paid', TIMESTAMPTZ '2026-09-20 10:00:00+00', 25.50),"
        "('#3', DATE '2026-09-21', 1, 'refunded', TIMESTAMPTZ '2026-09-21 10:00:00+00', 99.00),"
        "('#4', DATE '2026-10-02', 1, 'paid', TIMESTAMPTZ '2026-10-02 10:00:00+00', 500.00)"
        ") t(source_record_id, _partition_date, _line, financial_status, created_at, total)"
    )
    conn.execute("ALTER TABLE sources.shop_orders ADD COLUMN currency VARCHAR DEFAULT 'GBP'")
    conn.execute(
        "CREATE TABLE sources.pos_transactions AS SELECT * FROM (VALUES "
        "('R1', '600', TIMESTAMPTZ '2026-09-25 12:00:00+00', 10.00, 'GBP'),"
        "('R2', NULL, TIMESTAMPTZ '2026-09-25 12:05:00+00', 80.00, 'GBP')"  # no card: nobody's
        ") t(receipt_id, card_number, purchased_at, total, currency)"
    )
    conn.execute(
        "INSERT INTO identity.person_id_map BY NAME SELECT * FROM (VALUES "
        "('shop_orders', '#1', 'p1'), ('shop_orders', '#2', 'p1'), ('shop_orders', '#3', 'p1'),"
        "('shop_orders', '#4', 'p1'), ('pos_loyalty', '600', 'p1'), ('crm_contacts', 'c9', 'p2')"
        ") t(source, source_record_id, person_id)"
    )
    conn.execute(
        "INSERT INTO profiles.golden_profiles BY NAME SELECT * FROM (VALUES ('p1'), ('p2')) t(person_id)"
    )
    yield conn
    conn.close()


def traits_of(db, person_id: str) -> dict:
    cursor = db.execute("SELECT * FROM profiles.customer_traits WHERE person_id = ?", [person_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_shipped_traits_count_web_and_store_together_as_of_the_day(db):
    build_traits(db, load_profiles_config().traits, AS_OF, "profiles.golden_profiles")
    p1 = traits_of(db, "p1")
    # #1 and #2 from the shop, R1 from the till; #3 refunded, #4 after the as-of day.
    assert (p1["orders"], p1["web_orders"], p1["store_orders"]) == (3, 2, 1)
    assert p1["revenue"] == Decimal("75.50")
    assert (p1["orders_90d"], p1["revenue_90d"]) == (2, Decimal("35.50"))
    assert float(p1["average_order_value"]) == pytest.approx(25.17)
    assert p1["days_since_last_order"] == 5
    assert p1["lifecycle_stage"] == "active"
    # A person with no activity: counts are 0, the rest unknown, a prospect.
    p2 = traits_of(db, "p2")
    assert (p2["orders"], p2["revenue"], p2["tickets"], p2["lifecycle_stage"]) == (
        0,
        None,
        0,
        "prospect",
    )
    assert p2["recency_score"] is None


def test_a_later_as_of_day_counts_the_later_order(db):
    build_traits(db, load_profiles_config().traits, "2026-10-02", "profiles.golden_profiles")
    assert traits_of(db, "p1")["revenue"] == Decimal("575.50")


def test_a_trait_is_one_line_of_configuration(db):
    traits = [
        Trait(
            name="big_spend",
            activity="purchases",
            aggregate="sum",
            column="amount",
            where="amount >= 25",
        ),
        Trait(name="big_spender", expression="big_spend > 50"),
    ]
    build_traits(db, traits, AS_OF, "profiles.golden_profiles")
    assert (traits_of(db, "p1")["big_spend"], traits_of(db, "p1")["big_spender"]) == (
        Decimal("65.50"),
        True,
    )


def test_invalid_traits_name_the_trait_and_the_field():
    with pytest.raises(ValidationError, match="trait spend: activity 'sales' is not one of"):
        Trait(name="spend", activity="sales", aggregate="sum", column="amount")
    with pytest.raises(ValidationError, match="trait spend: column 'price' is not one of"):
        Trait(name="spend", activity="purchases", aggregate="sum", column="price")
    with pytest.raises(ValidationError, match="not a lower-case identifier"):
        Trait(name="Spend; DROP", expression="1")


def test_an_expression_that_does_not_compile_is_reported(db):
    with pytest.raises(ValueError, match="do not compile"):
        build_traits(
            db, [Trait(name="x", expression="no_such_trait + 1")], AS_OF, "profiles.golden_profiles"
        )
