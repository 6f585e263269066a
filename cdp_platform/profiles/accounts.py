"""B2B accounts: companies resolved across CRM companies and work email domains.

A company shows up as CRM company records and as the domains of its people's
work email addresses. Accounts are the connected groups of both:
- a CRM company and the domain it records (`Company Domain Name`);
- a domain and the CRM company that at least `domain_company_share` of its
  people are contacts of (how `acme.com` joins the company recorded as
  `acme.co.uk`);
- a domain and the CRM company whose domain has the same stem (`acmegroup.com`,
  `acme-uk.com` and `acme.co.uk`), when `match_domain_stems` is on;
- CRM companies without a domain that share a name.
A domain no CRM company claims is an account of its own once
`min_domain_persons` people use it. Free-mail domains (config
`free_mail_domains`) never make an account and never link anyone to one, even
when a CRM record names one as a company's domain.

Persons join an account through a CRM association (primary when they have
one) or the domain of any of their emails. An account's id is a hash of its
primary domain (or, without one, its lowest CRM company id), so it survives
re-runs.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cdp_platform.profiles.activity import MAP
from cdp_platform.profiles.traits import loaded_sources
from cdp_platform.tables.identity import IDENTITY_RECORDS
from cdp_platform.tables.profiles import ACCOUNT_MEMBERS, ACCOUNTS
from cdp_platform.tables.sources import CRM_CONTACTS

ACCOUNTS_TABLE = ACCOUNTS
MEMBERS_TABLE = ACCOUNT_MEMBERS
RECORDS = IDENTITY_RECORDS

# Second-level public suffixes a company domain sits under (acme.co.uk: stem acme).
SECOND_LEVEL = {"co", "org", "ac", "gov", "ltd", "plc", "me", "net", "com"}
LEGAL_SUFFIXES = re.compile(r"\b(ltd|limited|plc|llc|inc|gmbh|group|and sons|& sons)\b\.?")


class AccountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    free_mail_domains: list[str] = Field(default_factory=list)
    min_domain_persons: int = Field(default=1, ge=1)
    # A domain joins a CRM company when at least this share of its people are the
    # company's contacts (one contact with a personal domain does not bring it).
    domain_company_share: float = Field(default=0.5, gt=0, le=1)
    match_domain_stems: bool = True
    # Endings a group's other domains add to its stem: acmegroup.com, acme-uk.com.
    stem_suffixes: list[str] = Field(default_factory=lambda: ["group", "uk", "hq", "global"])


def normalise_domain(value: str | None) -> str | None:
    """`https://www.Acme.co.uk/about` -> `acme.co.uk`; None when it is no domain."""
    if not value:
        return None
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/")[0].split("@")[-1].strip(".")
    domain = domain.removeprefix("www.")
    return domain if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain) else None


def domain_stem(domain: str, suffixes: list[str]) -> str:
    """The company part of a domain: `acme-uk.com`, `acmegroup.co.uk` -> `acme`."""
    labels = domain.split(".")
    cut = 2 if len(labels) > 2 and labels[-2] in SECOND_LEVEL else 1
    stem = labels[-cut - 1] if len(labels) > cut else labels[0]
    for suffix in sorted(suffixes, key=len, reverse=True):
        if stem.endswith(suffix) and len(stem) > len(suffix) + 2:
            stem = stem[: -len(suffix)]
            break
    return re.sub(r"[^a-z0-9]", "", stem)


def company_name_key(name: str | None) -> str | None:
    if not name:
        return None
    key = re.sub(r"[^a-z0-9]", "", LEGAL_SUFFIXES.sub("", name.lower()))
    return key or None


class _Groups:
    """Union-find over CRM company ids and domains."""

    def __init__(self):
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def add(self, node):
        self.parent.setdefault(node, node)

    def find(self, node):
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a, b):
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _companies(conn, tables) -> pd.DataFrame:
    if "crm_companies" not in tables:
        return pd.DataFrame(
            columns=["company_id", "name", "domain", "industry", "employees", "revenue", "country"]
        )
    return conn.execute(
        """SELECT source_record_id AS company_id, company_name AS name,
                  company_domain_name AS domain, industry,
                  TRY_CAST(number_of_employees AS BIGINT) AS employees,
                  TRY_CAST(annual_revenue AS DECIMAL(18,2)) AS revenue,
                  country_region AS country, last_modified_date AS modified_at
           FROM sources.crm_companies ORDER BY company_id"""
    ).df()


def _person_domains(conn, free: set[str]) -> pd.DataFrame:
    """(person, work domain, records with it, last seen) from every record's email."""
    frame = conn.execute(
        f"""SELECT m.person_id, split_part(r.email_match, '@', 2) AS domain,
                   count(*) AS records, max(r.observed_at) AS last_seen
            FROM {RECORDS} r JOIN {MAP} m USING (source, source_record_id)
            WHERE r.email_match LIKE '%_@_%' GROUP BY 1, 2"""
    ).df()
    return frame[~frame["domain"].isin(free)].reset_index(drop=True)


def _associations(conn, tables) -> pd.DataFrame:
    """(person, CRM company) from the person's CRM contacts, latest first."""
    if "crm_contacts" not in tables:
        return pd.DataFrame(columns=["person_id", "company_id", "modified_at"])
    return conn.execute(
        f"""SELECT m.person_id, c.associated_company_id AS company_id,
                   c.last_modified_date AS modified_at
            FROM {CRM_CONTACTS} c
            JOIN {MAP} m ON m.source = 'crm_contacts' AND m.source_record_id = c.source_record_id
            WHERE nullif(trim(c.associated_company_id), '') IS NOT NULL
            ORDER BY modified_at DESC NULLS LAST, person_id"""
    ).df()


def resolve_accounts(
    companies: pd.DataFrame,
    person_domains: pd.DataFrame,
    associations: pd.DataFrame,
    settings: AccountSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts, members) from CRM companies, persons' work domains and CRM associations."""
    free = {d.lower() for d in settings.free_mail_domains}
    groups = _Groups()
    known = set(companies["company_id"])
    company_domain: dict[str, str] = {}
    for row in companies.itertuples():
        groups.add(("crm", row.company_id))
        domain = normalise_domain(row.domain)
        if domain and domain not in free:
            company_domain[row.company_id] = domain
            groups.join(("crm", row.company_id), ("domain", domain))
    # Companies recorded without a domain join a namesake.
    by_name: dict[str, str] = {}
    for row in companies.itertuples():
        key = company_name_key(row.name)
        if key and row.company_id not in company_domain:
            groups.join(("crm", row.company_id), ("crm", by_name.setdefault(key, row.company_id)))
    for row in companies.itertuples():
        key = company_name_key(row.name)
        if key in by_name and row.company_id in company_domain:
            groups.join(("crm", row.company_id), ("crm", by_name[key]))

    # A domain belongs to the company most of its people are associated with.
    company_of = dict(
        associations.drop_duplicates("person_id")[["person_id", "company_id"]].itertuples(
            index=False
        )
    )
    votes: dict[str, Counter] = defaultdict(Counter)
    for person_id, domain in person_domains[["person_id", "domain"]].itertuples(index=False):
        company = company_of.get(person_id)
        if company in known:
            votes[domain][company] += 1
    persons_per_domain = person_domains.groupby("domain")["person_id"].nunique()
    for domain, counter in votes.items():
        (company, n), *_ = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        if n >= settings.domain_company_share * persons_per_domain[domain]:
            groups.join(("domain", domain), ("crm", company))

    if settings.match_domain_stems:
        stems: dict[str, set] = defaultdict(set)
        for domain in company_domain.values():
            stems[domain_stem(domain, settings.stem_suffixes)].add(groups.find(("domain", domain)))
        for domain in persons_per_domain.index:
            roots = stems.get(domain_stem(domain, settings.stem_suffixes), set())
            if len(roots) == 1:
                groups.join(("domain", domain), next(iter(roots)))
    for domain in persons_per_domain.index:
        groups.add(("domain", domain))

    members_of: dict = defaultdict(list)
    for node in groups.parent:
        members_of[groups.find(node)].append(node)
    companies_by_id = companies.set_index("company_id") if len(companies) else None
    accounts, account_of = [], {}
    for nodes in members_of.values():
        crm_ids = sorted(n for kind, n in nodes if kind == "crm")
        domains = sorted(n for kind, n in nodes if kind == "domain")
        persons = sum(int(persons_per_domain.get(d, 0)) for d in domains)
        if not crm_ids and persons < settings.min_domain_persons:
            continue
        account = _account(crm_ids, domains, companies_by_id, company_domain, persons_per_domain)
        accounts.append(account)
        for node in nodes:
            account_of[node] = account["account_id"]
    members = _members(person_domains, associations, account_of)
    columns = [
        "account_id",
        "name",
        "domain",
        "domains",
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "crm_company_ids",
        "source_company_id",
    ]
    return pd.DataFrame(accounts, columns=columns), members


def _account(crm_ids, domains, companies_by_id, company_domain, persons_per_domain) -> dict:
    # The CRM record of the group most recently edited speaks for it.
    record = None
    if crm_ids:
        rows = companies_by_id.loc[crm_ids]
        record = rows.sort_values("modified_at", ascending=False, na_position="last").iloc[0]
    claimed = [company_domain[c] for c in crm_ids if c in company_domain]
    primary = (
        Counter(claimed).most_common(1)[0][0]
        if claimed
        else max(domains, key=lambda d: (persons_per_domain.get(d, 0), d))
        if domains
        else None
    )
    key = f"domain:{primary}" if primary else f"crm:{crm_ids[0]}"
    return {
        "account_id": "A" + hashlib.sha256(key.encode()).hexdigest()[:12],
        "name": record["name"] if record is not None else primary,
        "domain": primary,
        "domains": domains,
        "industry": None if record is None else record["industry"],
        "employees": None
        if record is None or pd.isna(record["employees"])
        else record["employees"],
        "annual_revenue": None if record is None else record["revenue"],
        "country": None if record is None else record["country"],
        "crm_company_ids": crm_ids,
        "source_company_id": None if record is None else record.name,
    }


def _members(person_domains, associations, account_of) -> pd.DataFrame:
    rows = {}
    # CRM associations first: the latest contact record's company is the primary one.
    for person_id, company_id in associations[["person_id", "company_id"]].itertuples(index=False):
        account = account_of.get(("crm", company_id))
        if account and (person_id, account) not in rows:
            rows[(person_id, account)] = "crm_association"
    ranked = person_domains.sort_values(
        ["records", "last_seen", "domain"], ascending=[False, False, True]
    )
    for person_id, domain in ranked[["person_id", "domain"]].itertuples(index=False):
        account = account_of.get(("domain", domain))
        if account and (person_id, account) not in rows:
            rows[(person_id, account)] = "email_domain"
    members = pd.DataFrame(
        [(p, a, via) for (p, a), via in rows.items()], columns=["person_id", "account_id", "via"]
    )
    members["is_primary"] = ~members.duplicated("person_id")
    return members


TEXT_COLUMNS = ("name", "domain", "industry", "country", "via")


def build_accounts(conn: duckdb.DuckDBPyConnection, settings: AccountSettings) -> dict:
    """Write `profiles.accounts` and `profiles.account_members`; returns counts."""
    tables = loaded_sources(conn)
    free = {d.lower() for d in settings.free_mail_domains}
    accounts, members = resolve_accounts(
        _companies(conn, tables), _person_domains(conn, free), _associations(conn, tables), settings
    )
    conn.execute("CREATE SCHEMA IF NOT EXISTS profiles")
    for table, frame, order in (
        (ACCOUNTS_TABLE, accounts, "account_id"),
        (MEMBERS_TABLE, members, "account_id, person_id"),
    ):
        # Text columns typed as text: with no rows, or no CRM company behind any
        # account (every industry empty), they would otherwise be typed INTEGER.
        text = [c for c in frame.columns if c.endswith("_id") or c in TEXT_COLUMNS]
        frame = frame.astype({c: "string" for c in text})
        conn.register("frame", frame)
        select = table.typed_select("frame") if table.columns else "SELECT * FROM frame"
        try:
            conn.execute(f"CREATE OR REPLACE TABLE {table} AS {select} ORDER BY {order}")
        finally:
            conn.unregister("frame")
    from_crm = int(accounts["crm_company_ids"].map(len).gt(0).sum()) if len(accounts) else 0
    return {
        "accounts": len(accounts),
        "from_crm": from_crm,
        "from_domains_only": len(accounts) - from_crm,
        "members": int(members["is_primary"].sum()) if len(members) else 0,
        "links": len(members),
    }
