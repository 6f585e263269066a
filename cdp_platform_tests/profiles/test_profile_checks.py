"""Profile checks on hand-made tables: they pass on sane data and fail on bad."""

from __future__ import annotations

import duckdb

from cdp_platform.profiles.checks import (
    EMAIL_CHECK,
    PHONE_CHECK,
    UNIQUE_CHECK,
    ProfileChecks,
    golden_checks,
    traits_nulls_check,
)
from cdp_platform.resources.warehouse import create_declared_tables


def results(profiles: list[tuple]) -> dict[str, bool]:
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        "INSERT INTO identity.person_id_map BY NAME SELECT * FROM (VALUES "
        "('crm_contacts', '1', 'p1'), ('crm_contacts', '2', 'p2')) t(source, source_record_id, person_id)"
    )
    conn.execute("CREATE TABLE golden (person_id VARCHAR, email VARCHAR, phone VARCHAR)")
    conn.executemany("INSERT INTO golden VALUES (?, ?, ?)", profiles)
    return {r.check_name: r.passed for r in golden_checks(conn, "golden", ProfileChecks())}


def test_sane_profiles_pass():
    assert results([("p1", "a@example.com", "+447700900123"), ("p2", None, None)]) == {
        UNIQUE_CHECK: True,
        EMAIL_CHECK: True,
        PHONE_CHECK: True,
    }


def test_a_duplicated_person_or_malformed_contact_fails():
    checks = results(
        [("p1", "a@example.com", "+447700900123"), ("p1", "not-an-email", "07700 900123")]
    )
    assert checks == {UNIQUE_CHECK: False, EMAIL_CHECK: False, PHONE_CHECK: False}
    assert results([("p1", "a@example.com", None)])[UNIQUE_CHECK] is False  # p2 has no profile


def test_trait_null_shares_are_held_to_their_bounds():
    assert traits_nulls_check({"orders": 0.0, "revenue": 0.6}, {"orders": 0.0}).passed
    failed = traits_nulls_check({"orders": 0.1}, {"orders": 0.0})
    assert not failed.passed
    assert failed.metadata["traits_over_bound"].value == "orders (10.0%)"
