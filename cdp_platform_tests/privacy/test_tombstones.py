"""Tombstones: an erased subject's data arriving again is dropped at loading, only counted."""

from __future__ import annotations

import re
from datetime import date

import duckdb

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline
from cdp_platform.privacy.tombstones import record_tombstones
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.sources.samples import record, write_day_file


def test_a_second_load_of_the_same_files_stores_nothing_of_erased_subjects(landing, query):
    generate(landing.parent, persons=250, days=8, start=date(2026, 8, 1), seed=11)
    assert run_pipeline(build_definitions(), landing).success
    erased_requests = query(
        "SELECT count(*) FROM privacy.request_status WHERE target = 'warehouse'"
    )[0][0]
    assert erased_requests > 0
    digests = query("SELECT kind, digest FROM privacy.tombstones")
    assert digests and all(re.fullmatch(r"[0-9a-f]{64}", d) for _, d in digests)
    raw_emails = [
        e.strip().lower()
        for (e,) in query(
            "SELECT identifier_value FROM sources.privacy_requests "
            "WHERE type = 'DELETE' AND identifier_type = 'email'"
        )
    ]
    assert not any(
        e in str(row) for row in query("SELECT * FROM privacy.tombstones") for e in raw_emails
    )

    # The same landing files again: the erased subjects' rows are dropped and counted.
    assert run_pipeline(build_definitions(), landing).success
    dropped = query("SELECT sum(rows) FROM privacy.tombstone_hits")[0][0]
    assert dropped > 0
    for table, column in query(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'sources' "
        "AND column_name LIKE '%email%' AND table_name NOT LIKE 'privacy_requests%' "
        "AND table_name <> 'quarantine'"
    ):
        found = query(
            f"SELECT count(*) FROM sources.{table} WHERE lower(trim({column})) IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [raw_emails],
        )[0][0]
        assert found == 0, f"{table}.{column}"


def test_an_email_a_living_person_shares_gets_no_tombstone():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        """INSERT INTO staging.identity_records BY NAME SELECT * FROM (VALUES
             ('crm_contacts', 'c1', 'home@example.org', 'home@example.org', NULL, NULL,
              '+441632960001'),
             ('crm_contacts', 'c2', 'home@example.org', 'home@example.org', NULL, NULL,
              '+441632960001'),
             ('crm_contacts', 'c3', 'own@example.org', 'own@example.org', '600', 'U1',
              '+447700900123')
           ) t(source, source_record_id, email, email_match, loyalty_card, user_id, phone)"""
    )
    conn.execute(
        """INSERT INTO identity.person_id_map BY NAME SELECT * FROM (VALUES
             ('crm_contacts', 'c1', 'erased'), ('crm_contacts', 'c2', 'partner'),
             ('crm_contacts', 'c3', 'erased')) t(source, source_record_id, person_id)"""
    )
    conn.execute(
        "INSERT INTO privacy.subjects BY NAME SELECT 'erased' AS person_id, 'erased' AS status, "
        "'R1' AS request_id"
    )
    assert record_tombstones(conn) > 0
    kinds = dict(
        conn.execute("SELECT kind, count(*) FROM privacy.tombstones GROUP BY 1").fetchall()
    )
    # Two records, one own email (its address and matching key are one value), one own
    # phone, a card, an account; the household address and line stay usable for the partner.
    assert kinds == {"record": 2, "email": 1, "phone": 1, "card": 1, "user": 1}
    assert record_tombstones(conn) == 0  # nothing twice


# A returning customer: new loyalty card, no email, the same mobile written another way.
ERASED = {
    "card_number": "6000000000000001",
    "first_name": "Alice",
    "last_name": "Jones",
    "phone": "07700 900456",
    "postcode": "N1 9GU",
    "birth_date": "14/03/1985",
}
RETURNING = {**ERASED, "card_number": "6000000000000002", "phone": "+44 (0)7700-900-456"}
PHONE_E164 = "+447700900456"


def with_background(landing) -> None:
    """A small demo landing zone (2026-08-01..02), so every layer has people to build."""
    generate(landing.parent, persons=30, days=2, start=date(2026, 8, 1), seed=3)


def erase_card(landing, day: str, card: str) -> None:
    request = record(
        "privacy_requests",
        request_id=f"PR-{card}",
        identifier_type="loyalty_card",
        identifier_value=card,
        received_at=f"{day}T09:00:00Z",
    )
    write_day_file(landing, "privacy_requests", day, [request])


def loyalty(changes: dict, day: str) -> dict:
    at = f"{day} 10:00:00"
    return record("pos_loyalty", changes, updated_at=at, enrolled_at=at)


def run(landing) -> None:
    result = run_pipeline(build_definitions(), landing)
    assert result.success, [failure for outcome in result.runs for failure in outcome.failures]


def phone_tombstoned(query, e164: str) -> bool:
    return (
        query(
            "SELECT count(*) FROM privacy.tombstones WHERE kind = 'phone' AND digest = "
            "sha256((SELECT salt FROM privacy.salt) || 'phone:' || ?)",
            [e164],
        )[0][0]
        == 1
    )


def holds_the_number(rows) -> bool:
    """Whether any value in `rows` holds the erased number's digits (a digest's
    hex or a timestamp's microseconds may hold "7700" by chance, not these)."""
    return any("7700900456" in "".join(filter(str.isdigit, str(v))) for r in rows for v in r)


def loaded_cards(query) -> set[str]:
    return {card for (card,) in query("SELECT source_record_id FROM sources.pos_loyalty_raw")}


def test_a_returning_subject_with_only_the_phone_in_common_is_dropped_at_loading(landing, query):
    with_background(landing)
    write_day_file(landing, "pos_loyalty", "2026-08-05", [loyalty(ERASED, "2026-08-05")])
    erase_card(landing, "2026-08-06", ERASED["card_number"])
    run(landing)
    assert phone_tombstoned(query, PHONE_E164)
    assert ERASED["card_number"] not in loaded_cards(query)
    assert not holds_the_number(query("SELECT * FROM privacy.tombstones"))

    write_day_file(landing, "pos_loyalty", "2026-08-07", [loyalty(RETURNING, "2026-08-07")])
    run(landing)
    assert RETURNING["card_number"] not in loaded_cards(query)
    assert query(
        "SELECT sum(rows) FROM privacy.tombstone_hits "
        "WHERE source = 'pos_loyalty' AND partition_date = DATE '2026-08-07'"
    ) == [(1,)]
    assert not holds_the_number(query("SELECT * FROM privacy.tombstone_hits"))
    assert query(
        "SELECT count(*) FROM identity.person_id_map WHERE source_record_id IN (?, ?)",
        [ERASED["card_number"], RETURNING["card_number"]],
    ) == [(0,)]


def test_a_phone_a_living_person_shares_gets_no_tombstone_and_their_rows_load(landing, query):
    with_background(landing)
    partner = {
        **ERASED,
        "card_number": "6000000000000009",
        "first_name": "Bob",
        "birth_date": "02/07/1983",
        "phone": "07700900456",  # the same number, another spelling
    }
    day_one = [loyalty(ERASED, "2026-08-05"), loyalty(partner, "2026-08-05")]
    write_day_file(landing, "pos_loyalty", "2026-08-05", day_one)
    erase_card(landing, "2026-08-06", ERASED["card_number"])
    run(landing)
    assert not phone_tombstoned(query, PHONE_E164)
    assert loaded_cards(query) >= {partner["card_number"]}

    # The partner's new card with the shared phone loads; the erased card does not.
    new_card = {**partner, "card_number": "6000000000000010", "phone": "+44 7700 900456"}
    day_two = [loyalty(new_card, "2026-08-07"), loyalty(ERASED, "2026-08-07")]
    write_day_file(landing, "pos_loyalty", "2026-08-07", day_two)
    run(landing)
    cards = loaded_cards(query)
    assert {partner["card_number"], new_card["card_number"]} <= cards
    assert ERASED["card_number"] not in cards
