"""B2B accounts on hand-made CRM companies, contacts and emails whose answer is known."""

from __future__ import annotations

import duckdb
import pytest

from cdp_platform.profiles.account_traits import (
    AccountsConfig,
    LeadRule,
    build_account_traits,
    build_lead_scores,
)
from cdp_platform.profiles.accounts import build_accounts, domain_stem, normalise_domain
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.resources.warehouse import create_declared_tables

COMPANIES = [
    # record id, name, domain (as typed in the CRM), employees, modified
    ("c1", "Acme Widgets Ltd", "https://www.Acme.co.uk/", 250, "2026-05-01"),
    ("c2", "Initech", "initech.com", 40, "2026-05-01"),
    ("c3", "Initech Ltd", "", 45, "2026-06-01"),  # no domain: joins its namesake
    ("c4", "Mail Fans", "gmail.com", 5, "2026-05-01"),  # a free-mail domain typed as its own
]
# person, email (as matched by identity), CRM company the contact is associated with
PEOPLE = [
    ("p1", "ann@acme.co.uk", "c1"),
    ("p2", "bob@acme.com", "c1"),  # another domain of Acme, known through the CRM
    ("p3", "cat@acme.com", None),  # ... which brings the next person with it
    ("p4", "dan@acmegroup.com", None),  # the group's domain: same stem
    ("p5", "eve@globex.io", None),  # nobody in the CRM: an account of its own
    ("p6", "fay@globex.io", "c2"),  # an Initech contact by the CRM, one of 3 at Globex
    ("p7", "gus@gmail.com", None),
    ("p8", "hal@gmail.com", "c4"),
    ("p9", "ivy@gmail.com", None),
    ("p10", "jo@initech.com", None),
    ("p11", "kim@globex.io", None),
]


@pytest.fixture
def db():
    conn = duckdb.connect()
    create_declared_tables(conn)
    conn.execute(
        """CREATE TABLE sources.crm_companies (source_record_id VARCHAR, company_name VARCHAR,
             company_domain_name VARCHAR, industry VARCHAR, number_of_employees VARCHAR,
             annual_revenue VARCHAR, country_region VARCHAR, last_modified_date TIMESTAMPTZ)"""
    )
    for cid, name, domain, employees, modified in COMPANIES:
        conn.execute(
            "INSERT INTO sources.crm_companies VALUES (?, ?, ?, 'Software', ?, '', 'GB', ?)",
            [cid, name, domain or None, str(employees), modified],
        )
    conn.execute(
        """CREATE TABLE sources.crm_contacts (source_record_id VARCHAR,
             associated_company_id VARCHAR, lifecycle_stage VARCHAR, job_title VARCHAR,
             last_modified_date TIMESTAMPTZ)"""
    )
    for person, email, company in PEOPLE:
        conn.execute(
            "INSERT INTO staging.identity_records (source, source_record_id, email_match, "
            "observed_at) VALUES ('shop_orders', ?, ?, '2026-06-01')",
            [f"#{person}", email],
        )
        conn.execute(
            "INSERT INTO identity.person_id_map VALUES ('shop_orders', ?, ?)",
            [f"#{person}", person],
        )
        if company:
            conn.execute(
                "INSERT INTO sources.crm_contacts VALUES (?, ?, 'opportunity', 'Head of IT', "
                "'2026-06-01')",
                [f"crm-{person}", company],
            )
            conn.execute(
                "INSERT INTO identity.person_id_map VALUES ('crm_contacts', ?, ?)",
                [f"crm-{person}", person],
            )
    yield conn
    conn.close()


def _settings() -> AccountsConfig:
    return load_profiles_config().accounts


def accounts_by_domain(db) -> dict[str, tuple]:
    rows = db.execute("SELECT domain, domains, crm_company_ids, name FROM profiles.accounts")
    return {domain: (domains, crm, name) for domain, domains, crm, name in rows.fetchall()}


def members(db) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    for person, domain, via, primary in db.execute(
        """SELECT m.person_id, a.domain, m.via, m.is_primary FROM profiles.account_members m
           JOIN profiles.accounts a USING (account_id) ORDER BY m.person_id, NOT m.is_primary"""
    ).fetchall():
        found.setdefault(person, []).append((domain, via, primary))
    return found


def test_companies_resolve_across_crm_records_and_work_domains(db):
    counts = build_accounts(db, _settings())
    accounts = accounts_by_domain(db)
    assert set(accounts) == {"acme.co.uk", "initech.com", "globex.io", None}
    # Acme: its CRM domain, the domain its contacts use, the group's domain.
    assert accounts["acme.co.uk"][:2] == (["acme.co.uk", "acme.com", "acmegroup.com"], ["c1"])
    # Initech: the CRM record without a domain joined its namesake.
    assert accounts["initech.com"][1] == ["c2", "c3"]
    assert accounts["initech.com"][2] == "Initech Ltd"  # the most recently edited record
    # Globex is nobody's CRM company, but three people work there.
    assert accounts["globex.io"][:2] == (["globex.io"], [])
    assert counts == {
        "accounts": 4,
        "from_crm": 3,
        "from_domains_only": 1,
        "members": 9,
        "links": 10,
    }
    people = members(db)
    assert [d for d, _, _ in people["p3"]] == ["acme.co.uk"]
    assert people["p4"] == [("acme.co.uk", "email_domain", True)]
    # A CRM association is the primary account; the email domain is kept beside it.
    assert people["p6"] == [
        ("initech.com", "crm_association", True),
        ("globex.io", "email_domain", False),
    ]


def test_a_free_mail_domain_never_makes_or_joins_an_account(db):
    build_accounts(db, _settings())
    accounts = accounts_by_domain(db)
    assert not any("gmail.com" in domains for domains, _, _ in accounts.values())
    # The CRM company that typed gmail.com is an account, without the domain...
    assert accounts[None] == ([], ["c4"], "Mail Fans")
    people = members(db)
    # ...and only its CRM contact is a member; other gmail users are no one's contacts.
    assert people["p8"] == [(None, "crm_association", True)]
    assert "p7" not in people and "p9" not in people


def test_accounts_from_work_domains_alone_keep_their_text_columns_text(db):
    """No CRM companies loaded: every account comes from a work domain and has no
    industry or country, which must still be text for the lead scores' rules."""
    db.execute("DROP TABLE sources.crm_companies")
    build_accounts(db, _settings())
    types = dict(
        db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'profiles' AND table_name = 'accounts'"
        ).fetchall()
    )
    assert {types[c] for c in ("name", "domain", "industry", "country")} == {"VARCHAR"}
    assert db.execute("SELECT count(*) FROM profiles.accounts").fetchone()[0] > 0


def test_account_ids_survive_a_rerun(db):
    build_accounts(db, _settings())
    first = db.execute("SELECT account_id, domain FROM profiles.accounts ORDER BY 1").fetchall()
    build_accounts(db, _settings())
    assert db.execute("SELECT account_id, domain FROM profiles.accounts ORDER BY 1").fetchall() == (
        first
    )


def test_account_traits_and_lead_scores_from_the_contacts(db):
    db.execute(
        """CREATE TABLE profiles.customer_traits AS SELECT * FROM (VALUES
             ('p1', 2, 100.0, 0, 3, 5, 'subscribed'), ('p2', 1, 50.0, 1, 0, 2, NULL),
             ('p5', 0, NULL, 0, 0, NULL, 'unsubscribed'), ('p6', 0, NULL, 0, 0, NULL, NULL)
           ) t(person_id, orders, revenue, orders_90d, sessions_30d, member_rating, email_status)"""
    )
    settings = _settings().model_copy(
        update={
            "traits": [
                t
                for t in _settings().traits
                if t.name in ("contacts", "customers", "revenue", "lifecycle_mix")
            ],
            # The shipped account rules read traits left out above.
            "lead_score": _settings().lead_score.model_copy(update={"account": []}),
        }
    )
    build_accounts(db, settings)
    build_account_traits(db, settings)
    traits = {
        domain: row
        for domain, *row in db.execute(
            """SELECT a.domain, t.contacts, t.customers, t.revenue, t.lifecycle_mix
               FROM profiles.account_traits t JOIN profiles.accounts a USING (account_id)"""
        ).fetchall()
    }
    # Acme's contacts with traits: p1 and p2 (p3, p4 have none yet, still contacts).
    assert traits["acme.co.uk"] == [4, 2, 150.0, {"opportunity": 2}]
    assert traits["globex.io"][:3] == [3, 0, 0]

    build_lead_scores(db, settings)
    scores = dict(
        db.execute(
            "SELECT person_id, (lead_score, lead_score_reasons) FROM profiles.lead_scores"
        ).fetchall()
    )
    # p1: senior title 20, opportunity 30, at an account 10, on site 15, email 10, no recent order.
    assert scores["p1"] == (
        85,
        [
            "senior_title",
            "sales_qualified",
            "works_at_an_account",
            "active_on_site",
            "engaged_by_email",
        ],
    )
    # p5: at an account 10, unsubscribed -15: clamped at 0.
    assert scores["p5"] == (0, ["works_at_an_account", "unsubscribed"])
    assert set(scores) == {"p1", "p2", "p5", "p6"}  # every person with traits

    capped = settings.model_copy(
        update={
            "lead_score": settings.lead_score.model_copy(
                update={
                    "account": [LeadRule(name="big", when="best_contact_score > 80", points=500)]
                }
            )
        }
    )
    build_lead_scores(db, capped)
    account_scores = dict(
        db.execute(
            """SELECT a.domain, s.lead_score FROM profiles.account_lead_scores s
               JOIN profiles.accounts a USING (account_id)"""
        ).fetchall()
    )
    assert account_scores["acme.co.uk"] == 100 and account_scores["globex.io"] == 0


def test_domains_are_normalised_and_stemmed():
    assert normalise_domain("https://www.Acme.co.uk/about") == "acme.co.uk"
    assert normalise_domain("not a domain") is None
    assert domain_stem("acme-uk.com", ["group", "uk"]) == "acme"
    assert domain_stem("acmegroup.co.uk", ["group", "uk"]) == "acme"
    assert domain_stem("uk.com", ["uk"]) == "uk"
