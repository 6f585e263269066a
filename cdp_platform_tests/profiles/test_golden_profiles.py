"""Golden profiles through the real pipeline on generated data."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.resources.warehouse import connect
from cdp_platform_tests.metadata import metadata_rows

CONTRACT = ["person_id", "first_name", "last_name", "email", "phone", "postcode", "country"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole pipeline once over generated data; every test here only reads it."""
    root = tmp_path_factory.mktemp("golden")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CDP_LANDING_DIR", str(landing))
        env.setenv("CDP_WAREHOUSE", str(warehouse))
        # Runs kept in an instance of the test's own, to read their metadata.
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        generate(root, persons=300, days=10, start=date(2026, 8, 1), seed=4)
        assert run_pipeline(build_definitions(), landing).success
        with dg.DagsterInstance.get() as instance:
            metadata = {
                name: instance.get_latest_materialization_event(
                    dg.AssetKey(name)
                ).asset_materialization.metadata
                for name in (
                    "golden_profiles",
                    "customer_traits",
                    "consent_state",
                    "customer_timeline",
                    "accounts",
                )
            }

    def query(sql: str, params: list | None = None) -> list[tuple]:
        with connect(warehouse, read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    query.metadata = metadata
    return query


def test_one_profile_per_person_with_the_contract_columns(built):
    query = built
    columns = [r[0] for r in query("DESCRIBE profiles.golden_profiles")]
    assert set(CONTRACT) <= set(columns)
    persons = query("SELECT count(DISTINCT person_id) FROM identity.person_id_map")[0][0]
    assert query("SELECT count(*), count(DISTINCT person_id) FROM profiles.golden_profiles")[0] == (
        persons,
        persons,
    )


def test_every_value_comes_from_a_record_of_that_person(built):
    query = built
    orphans = query(
        """SELECT count(*) FROM profiles.profile_provenance p
        LEFT JOIN identity.person_id_map m USING (source, source_record_id)
        WHERE m.person_id IS DISTINCT FROM p.person_id"""
    )[0][0]
    assert orphans == 0
    # The profile shows exactly the value its provenance names, attribute by attribute.
    mismatched = query(
        """SELECT count(*) FROM profiles.profile_provenance p
        JOIN profiles.golden_profiles g USING (person_id)
        WHERE (p.attribute = 'email' AND p.value IS DISTINCT FROM g.email)
           OR (p.attribute = 'postcode' AND p.value IS DISTINCT FROM g.postcode)
           OR (p.attribute = 'first_name' AND p.value IS DISTINCT FROM g.first_name)"""
    )[0][0]
    assert mismatched == 0
    # The chosen email is one of the person's emails, and the address is one record's.
    assert (
        query(
            "SELECT count(*) FROM profiles.golden_profiles "
            "WHERE email IS NOT NULL AND NOT list_contains(emails, email)"
        )[0][0]
        == 0
    )
    split_addresses = query(
        """SELECT count(*) FROM (
             SELECT person_id, count(DISTINCT source || source_record_id) AS n
             FROM profiles.profile_provenance WHERE attribute_group = 'address' GROUP BY 1)
           WHERE n > 1"""
    )[0][0]
    assert split_addresses == 0


def test_traits_and_consent_cover_every_person(built):
    query = built
    persons = query("SELECT count(*) FROM profiles.golden_profiles")[0][0]
    assert query("SELECT count(*), count(DISTINCT person_id) FROM profiles.customer_traits")[0] == (
        persons,
        persons,
    )
    # Revenue is the sum of the person's purchases, web and store alike.
    assert query(
        "SELECT sum(revenue) = (SELECT sum(total) FROM sources.shop_orders "
        "WHERE total IS NOT NULL AND financial_status NOT IN ('voided', 'refunded')) "
        "+ (SELECT coalesce(sum(t.total), 0) FROM sources.pos_transactions t "
        "JOIN identity.person_id_map m ON m.source = 'pos_loyalty' "
        "AND m.source_record_id = t.card_number) FROM profiles.customer_traits"
    )[0][0]
    assert query("SELECT count(*) FROM profiles.consent_state")[0][0] == persons * 4
    # Ten days of history are too few to learn churn from: every person is listed, unscored.
    assert query("SELECT count(*), count(churn_probability) FROM profiles.customer_scores")[0] == (
        persons,
        0,
    )
    assert (
        query(
            "SELECT count(*) FROM profiles.consent_state "
            "WHERE purpose = 'email_marketing' AND status <> 'unknown'"
        )[0][0]
        > 0
    )


def test_the_timeline_holds_each_purchase_ticket_and_consent_statement_once(built):
    query = built
    kinds = dict(query("SELECT kind, count(*) FROM profiles.customer_timeline GROUP BY 1"))
    purchases = query("SELECT sum(orders) FROM profiles.customer_traits")[0][0]
    assert kinds["order"] + kinds["receipt"] == purchases
    assert kinds["ticket"] == query("SELECT sum(tickets) FROM profiles.customer_traits")[0][0]
    assert kinds["consent"] == query("SELECT count(*) FROM profiles.consent_statements")[0][0]
    assert kinds["web_session"] > 0


def test_accounts_hold_work_domains_and_every_person_has_a_lead_score(built):
    query = built
    free = set(load_profiles_config().accounts.free_mail_domains)
    domains = {d for (d,) in query("SELECT unnest(domains) FROM profiles.accounts")}
    assert domains and not domains & free
    # Every CRM company is in exactly one account.
    assert query("SELECT count(DISTINCT source_record_id) FROM sources.crm_companies") == query(
        "SELECT count(*) FROM (SELECT unnest(crm_company_ids) FROM profiles.accounts)"
    )
    persons = query("SELECT count(*) FROM profiles.golden_profiles")[0][0]
    assert query("SELECT count(*), count(lead_score) FROM profiles.lead_scores")[0] == (
        persons,
        persons,
    )
    # An account's contacts are its members; its revenue is theirs.
    assert (
        query(
            """SELECT count(*) FROM profiles.account_traits t
           JOIN (SELECT account_id, count(*) AS n FROM profiles.account_members GROUP BY 1) m
             USING (account_id) WHERE t.contacts <> m.n"""
        )[0][0]
        == 0
    )


def test_the_whole_pipeline_fills_the_contract_tables_of_segments_and_activation(built):
    query = built
    contract = {
        "segments.segment_memberships": {"segment", "person_id"},
        "activation.sync_log": {"sync", "run_id", "person_id", "operation", "status", "error"},
    }
    for table, columns in contract.items():
        assert columns <= {r[0] for r in query(f"DESCRIBE {table}")}, table
    # Every member of a synced segment who consented was sent; nobody else.
    sent = query(
        "SELECT count(DISTINCT person_id) FROM activation.sync_log "
        "WHERE sync = 'newsletter_first_order_offer' AND status = 'succeeded'"
    )[0][0]
    unsent = query(
        """SELECT count(*) FROM activation.sync_log l
           JOIN profiles.consent_state c ON c.person_id = l.person_id
             AND c.purpose = 'email_marketing'
           WHERE l.status = 'succeeded' AND c.status <> 'granted'"""
    )[0][0]
    assert sent > 0 and unsent == 0
    # Suppressed and erased subjects, matched in this same run, are in no segment and
    # were sent nowhere.
    assert query("SELECT count(*) FROM privacy.subjects")[0][0] > 0
    reached = query(
        """SELECT (SELECT count(*) FROM segments.segment_memberships
                   WHERE person_id IN (SELECT person_id FROM privacy.subjects)),
                  (SELECT count(*) FROM activation.sync_log WHERE status = 'succeeded'
                   AND person_id IN (SELECT person_id FROM privacy.subjects))"""
    )[0]
    assert reached == (0, 0)


def test_erased_subjects_are_gone_from_every_layer(built):
    query = built
    erased = {p for (p,) in query("SELECT person_id FROM privacy.subjects WHERE status = 'erased'")}
    assert erased
    for schema in ("identity", "profiles", "segments"):
        tables = query(
            "SELECT DISTINCT table_name FROM duckdb_columns() "
            "WHERE schema_name = ? AND column_name = 'person_id'",
            [schema],
        )
        for (table,) in tables:
            left = query(
                f"SELECT count(*) FROM {schema}.{table} WHERE person_id IN "
                "(SELECT person_id FROM privacy.subjects WHERE status = 'erased')"
            )[0][0]
            assert left == 0, f"{schema}.{table}"
    # The email on each DELETE request is in no source row any more, in any email column.
    emails = [
        e.strip().lower()
        for (e,) in query(
            "SELECT identifier_value FROM sources.privacy_requests "
            "WHERE type = 'DELETE' AND identifier_type = 'email'"
        )
    ]
    columns = query(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'sources' "
        "AND column_name LIKE '%email%' AND table_name NOT IN ('privacy_requests', "
        "'privacy_requests_raw', 'quarantine')"
    )
    assert emails and columns
    for table, column in columns:
        found = query(
            f"SELECT count(*) FROM sources.{table} WHERE lower(trim({column})) IN "
            f"(SELECT unnest(?::VARCHAR[]))",
            [emails],
        )[0][0]
        assert found == 0, f"{table}.{column}"


def test_the_profiles_metadata_are_typed_tables_that_agree_with_the_warehouse(built):
    """What the UI shows of each profiles asset is a table it can sort, and it
    says what the tables hold."""
    query, metadata = built, built.metadata
    timeline = metadata_rows(metadata["customer_timeline"]["by_kind"])
    (entries,) = query("SELECT count(*) FROM profiles.customer_timeline")[0]
    assert sum(r["entries"] for r in timeline) == entries > 0

    consent = metadata_rows(metadata["consent_state"]["by_purpose"])
    (granted,) = query(
        "SELECT count(*) FROM profiles.consent_state "
        "WHERE purpose = 'email_marketing' AND status = 'granted'"
    )[0]
    assert next(r for r in consent if r["purpose"] == "email_marketing")["granted"] == granted

    traits = metadata_rows(metadata["customer_traits"]["traits_filled"])
    declared = {t.name for t in load_profiles_config().traits}
    assert {r["trait"] for r in traits} == declared
    assert all(0 <= r["share_with_a_value"] <= 1 for r in traits)

    filled = metadata_rows(metadata["golden_profiles"]["attributes_filled"])
    (with_email,) = query("SELECT avg((email IS NOT NULL)::INT) FROM profiles.golden_profiles")[0]
    email = next(r for r in filled if r["attribute"] == "email")
    assert abs(email["share_of_persons"] - with_email) < 1e-3

    sizes = metadata_rows(metadata["accounts"]["contacts_per_account"])
    (accounts,) = query("SELECT count(*) FROM profiles.accounts")[0]
    assert sum(r["accounts"] for r in sizes) == accounts > 0
