"""A sync's `source.where` can only narrow who is sent: injections are refused when the
configuration loads, and a filter that passes still cannot add a person without
consent, a suppressed or erased person, or a column."""

from __future__ import annotations

import textwrap

import dagster as dg
import pytest

from cdp_platform.activation.assets import build_sync_asset
from cdp_platform.activation.config import SyncSource, SyncSpec, SyncSpecError, load_syncs
from cdp_platform.activation.resources import destination_resources
from cdp_platform.activation.rows import sync_rows
from cdp_platform.resources.warehouse import WarehouseResource, connect, create_declared_tables
from cdp_platform_tests.fakes.destinations import SECRET, WebhookServer
from cdp_platform_tests.profile_tables import seed_profiles

PERSONS = 8  # p0..p7; GB but p7 (FR)
CONSENTED = {"p0", "p2", "p4", "p6"}  # granted; p1 denied, the others unknown
SUPPRESSED, ERASED = "p2", "p4"


def syncs_yaml(where: str, url: str = "http://127.0.0.1:9") -> str:
    return textwrap.dedent(
        f"""
        destinations:
          hooks:
            type: webhook
            url: {url}
            secret_env: TEST_WEBHOOK_SECRET
            purpose: email_marketing
        syncs:
          - name: leaky
            description: whatever the filter lets through
            destination: hooks
            source:
              where: {where}
            identifier: email
            mapping: {{email: email, name: first_name}}
            mode: mirror
        """
    )


@pytest.fixture
def syncs_file(tmp_path, monkeypatch):
    """Write syncs.yaml with a filter and point CDP_SYNCS_CONFIG at it."""
    path = tmp_path / "syncs.yaml"
    monkeypatch.setenv("CDP_SYNCS_CONFIG", str(path))
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)

    def write(where: str, url: str = "http://127.0.0.1:9"):
        path.write_text(syncs_yaml(where, url))
        return path

    return write


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as conn:
        seed_profiles(conn, PERSONS, country="CASE WHEN i < 7 THEN 'GB' ELSE 'FR' END")
        conn.execute(
            f"""INSERT INTO profiles.consent_state BY NAME
                SELECT person_id, 'email_marketing' AS purpose,
                       CASE WHEN person_id = 'p1' THEN 'denied' ELSE 'granted' END AS status
                FROM profiles.golden_profiles
                WHERE person_id = 'p1' OR person_id IN {tuple(sorted(CONSENTED))}"""
        )
        create_declared_tables(conn)
        conn.execute(  # the columns build_subjects writes
            f"""INSERT INTO privacy.subjects BY NAME SELECT * FROM (VALUES
                  ('{SUPPRESSED}', 'suppressed', 'r1', TIMESTAMPTZ '2026-01-01'),
                  ('{ERASED}', 'erased', 'r2', TIMESTAMPTZ '2026-01-01')
                ) t(person_id, status, request_id, decided_at)"""
        )
    return WarehouseResource(database=str(path))


# One YAML scalar each (double-quoted, so quotes inside are single), with the reason.
INJECTIONS = {
    "stacked_update": (
        "\"true); UPDATE profiles.consent_state SET status = 'granted'; "
        'SELECT * FROM profiles.golden_profiles WHERE (true"',
        "';' is not allowed: write one condition, not several statements",
    ),
    "own_select_after_a_closing_parenthesis": (
        '"true) UNION ALL SELECT email, person_id, true, email, first_name '
        'FROM profiles.golden_profiles WHERE (true"',
        "the ')' at column 5 closes a parenthesis never opened",
    ),
    "own_select_appended": (
        "\"country = 'GB' UNION ALL SELECT * FROM profiles.golden_profiles\"",
        "a query is not allowed: write one condition",
    ),
    "subquery_over_another_table": (
        '"email IN (SELECT email FROM profiles.golden_profiles, privacy.subjects)"',
        "a subquery is not allowed",
    ),
    "exists_subquery": (
        '"EXISTS (SELECT 1 FROM profiles.consent_state)"',
        "a subquery is not allowed",
    ),
    "read_text": ("\"read_text('/etc/passwd') IS NOT NULL\"", "function read_text is not allowed"),
    "table_function": ("\"glob('/etc/*') IS NOT NULL\"", "function glob is not allowed"),
    "table_function_in_from": (
        "\"email IN (FROM read_csv('/etc/passwd'))\"",
        "a subquery is not allowed",
    ),
    "environment": ("\"getenv('HOME') <> ''\"", "function getenv is not allowed"),
    "unknown_column": ('"shoe_size > 9"', "unknown column 'shoe_size'; known: ["),
    "another_tables_column": (
        "\"c.status = 'granted'\"",
        "write column names without a table or alias: 'c.status'",
    ),
    "semicolon": ("\"country = 'GB';\"", "';' is not allowed"),
    "a_value": ("\"'GB'\"", "is a value, not a condition"),
}


@pytest.mark.parametrize("name", list(INJECTIONS))
def test_an_injected_filter_is_refused_at_load_naming_file_sync_and_field(syncs_file, name):
    where, reason = INJECTIONS[name]
    path = syncs_file(where)
    with pytest.raises(SyncSpecError) as raised:
        load_syncs()  # reads CDP_SYNCS_CONFIG
    assert str(raised.value).startswith(f"{path}: sync 'leaky': source.where: {reason}")


def test_a_plain_filter_loads_and_runs_as_rendered(syncs_file, warehouse):
    syncs_file("\"country = 'FR' OR list_contains(['p0'], person_id)\"")
    (sync,) = load_syncs().syncs
    with connect(warehouse.database) as conn:
        rows = sync_rows(conn, sync, "email_marketing")
    assert {(r.person_id, r.consented) for r in rows} == {("p0", True), ("p7", False)}


def test_a_filter_cannot_add_persons_without_consent_or_suppressed_ones(syncs_file, warehouse):
    syncs_file('"true OR true"')
    (sync,) = load_syncs().syncs
    with connect(warehouse.database) as conn:
        rows = sync_rows(conn, sync, "email_marketing")
    offered = {r.person_id: r.consented for r in rows}
    # Everyone but the suppressed and erased subjects, each with their own consent.
    assert set(offered) == {f"p{i}" for i in range(PERSONS)} - {SUPPRESSED, ERASED}
    assert {p for p, consented in offered.items() if consented} == CONSENTED - {
        SUPPRESSED,
        ERASED,
    }
    assert all(set(r.fields) == {"email", "name"} for r in rows)


def test_a_filter_that_bypassed_the_load_check_is_refused_at_run_time(warehouse):
    # Built in code, not loaded: only the check in rows_sql stands in the way.
    sync = SyncSpec(
        name="built_in_code",
        description="skips load_syncs",
        destination="hooks",
        source=SyncSource(
            where="true); UPDATE profiles.consent_state SET status = 'granted'; SELECT 1 WHERE (true"
        ),
        mapping={"email": "email"},
    )
    with connect(warehouse.database) as conn:
        with pytest.raises(ValueError, match="';' is not allowed"):
            sync_rows(conn, sync, "email_marketing")
        granted = conn.execute(
            "SELECT count(*) FROM profiles.consent_state WHERE status = 'granted'"
        ).fetchone()[0]
    assert granted == len(CONSENTED)


def test_only_consented_unsuppressed_persons_reach_the_destination(syncs_file, warehouse):
    with WebhookServer() as server:
        syncs_file('"true OR true"', server.url)
        parsed = load_syncs()
        asset = build_sync_asset(parsed.syncs[0], parsed)
        result = dg.materialize(
            [asset], resources={"warehouse": warehouse, **destination_resources(parsed)}
        )
    assert result.success
    sent = {f"n{i}@example.org" for i in (0, 6)}  # consented, not suppressed or erased
    assert set(server.holds) == sent
    assert all(set(record) == {"email", "name"} for record in server.holds.values())


def test_a_yaml_syntax_error_names_line_and_column(syncs_file):
    path = syncs_file("\"country = 'GB'\"")
    path.write_text(path.read_text().replace("identifier: email", "identifier: email: work"))
    with pytest.raises(SyncSpecError) as raised:
        load_syncs()
    assert str(raised.value) == f"{path}:14:22: mapping values are not allowed here"


def test_the_shipped_syncs_load(monkeypatch):
    monkeypatch.delenv("CDP_SYNCS_CONFIG", raising=False)
    assert load_syncs().syncs
