"""Account traits and rule-based lead scores, declared in YAML and compiled to SQL.

An account trait is an SQL aggregate over the account's contacts, each
contact a row with the person's traits (`profiles.customer_traits`), their
CRM lifecycle stage and job title (`crm_lifecycle_stage`, `job_title`) and how
they joined the account (`via`, `is_primary`). Accounts without contacts are
aggregated over no rows, so count contacts with `count(person_id)`:

    - name: engaged_contacts
      aggregate: count(person_id) FILTER (WHERE sessions_30d > 0)

A lead score is the sum of the points of the rules a person or account meets
(each an SQL condition), clamped to 0..`max_score`, with the names of the rules
that fired kept beside it. Person rules see the person's traits, CRM fields and
primary `account_id`; account rules see the account, its traits and
`best_contact_score`, the highest lead score among its contacts.
"""

from __future__ import annotations

import duckdb
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp_platform.profiles.accounts import ACCOUNTS_TABLE, MEMBERS_TABLE, AccountSettings
from cdp_platform.profiles.activity import MAP
from cdp_platform.profiles.traits import TRAITS_TABLE, Identifier, ValueType, loaded_sources
from cdp_platform.sql_expressions import checked_condition, checked_value
from cdp_platform.tables.profiles import ACCOUNT_LEAD_SCORES, ACCOUNT_TRAITS, LEAD_SCORES
from cdp_platform.tables.sources import CRM_CONTACTS

ACCOUNT_TRAITS_TABLE = ACCOUNT_TRAITS
LEAD_SCORES_TABLE = LEAD_SCORES
ACCOUNT_LEAD_SCORES_TABLE = ACCOUNT_LEAD_SCORES


class _Named(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier
    description: str = ""


class AccountTrait(_Named):
    aggregate: str  # SQL aggregate over the account's contacts
    type: ValueType | None = None  # for segment conditions; unchecked when not given

    @field_validator("aggregate")
    @classmethod
    def _one_aggregate(cls, value: str) -> str:
        return checked_value(value, aggregates=True)


class LeadRule(_Named):
    when: str  # SQL condition
    points: int

    @field_validator("when")
    @classmethod
    def _one_condition(cls, value: str) -> str:
        return checked_condition(value)


class LeadScoring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_score: int = Field(default=100, gt=0)
    person: list[LeadRule] = Field(default_factory=list)
    account: list[LeadRule] = Field(default_factory=list)


class AccountsConfig(AccountSettings):
    traits: list[AccountTrait] = Field(default_factory=list)
    lead_score: LeadScoring = Field(default_factory=LeadScoring)


def _crm_fields_sql(tables: set[str]) -> str:
    """Each person's latest CRM lifecycle stage and job title."""
    if "crm_contacts" not in tables:
        return (
            "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS crm_lifecycle_stage, "
            "NULL::VARCHAR AS job_title WHERE false"
        )
    return f"""SELECT m.person_id,
                 arg_max(c.lifecycle_stage, c.last_modified_date) AS crm_lifecycle_stage,
                 arg_max(c.job_title, c.last_modified_date) AS job_title
               FROM {CRM_CONTACTS} c
               JOIN {MAP} m ON m.source = 'crm_contacts' AND m.source_record_id = c.source_record_id
               GROUP BY m.person_id"""


def _person_view(tables: set[str]) -> str:
    """Every person with traits, CRM fields and primary account."""
    return f"""SELECT t.*, crm.crm_lifecycle_stage, crm.job_title, am.account_id
               FROM {TRAITS_TABLE} t
               LEFT JOIN ({_crm_fields_sql(tables)}) crm USING (person_id)
               LEFT JOIN (SELECT person_id, account_id FROM {MEMBERS_TABLE} WHERE is_primary)
                 am USING (person_id)"""


def account_traits_sql(traits: list[AccountTrait], tables: set[str]) -> str:
    contacts = f"""SELECT am.account_id, am.person_id, am.via, am.is_primary,
                          t.* EXCLUDE (account_id, person_id)
                   FROM {MEMBERS_TABLE} am
                   LEFT JOIN ({_person_view(tables)}) t USING (person_id)"""
    columns = "".join(f", ({t.aggregate}) AS {t.name}" for t in traits)
    return f"""SELECT a.account_id{columns}
               FROM {ACCOUNTS_TABLE} a LEFT JOIN ({contacts}) c USING (account_id)
               GROUP BY a.account_id"""


def lead_score_sql(rules: list[LeadRule], max_score: int, view: str, keys: str) -> str:
    points = " + ".join(f"(CASE WHEN ({r.when}) THEN {r.points} ELSE 0 END)" for r in rules) or "0"
    reasons = ", ".join(f"CASE WHEN ({r.when}) THEN '{r.name}' END" for r in rules)
    return f"""SELECT {keys},
                 least({max_score}, greatest(0, {points}))::INTEGER AS lead_score,
                 list_filter([{reasons}]::VARCHAR[], x -> x IS NOT NULL) AS lead_score_reasons
               FROM ({view}) v"""


def _create(conn: duckdb.DuckDBPyConnection, table: str, sql: str, what: str) -> None:
    try:
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    except duckdb.Error as exc:
        raise ValueError(f"{what} in config/profiles.yaml do not compile: {exc}") from exc


def build_account_traits(conn: duckdb.DuckDBPyConnection, config: AccountsConfig) -> int:
    """Write `profiles.account_traits`; returns the number of accounts."""
    sql = account_traits_sql(config.traits, loaded_sources(conn))
    _create(conn, ACCOUNT_TRAITS_TABLE, f"{sql} ORDER BY account_id", "accounts.traits")
    return conn.execute(f"SELECT count(*) FROM {ACCOUNT_TRAITS_TABLE}").fetchone()[0]


def build_lead_scores(conn: duckdb.DuckDBPyConnection, config: AccountsConfig) -> None:
    """Write `profiles.lead_scores` (every person) and `profiles.account_lead_scores`."""
    scoring = config.lead_score
    persons = lead_score_sql(
        scoring.person,
        scoring.max_score,
        _person_view(loaded_sources(conn)),
        "person_id, account_id",
    )
    _create(conn, LEAD_SCORES_TABLE, f"{persons} ORDER BY person_id", "accounts.lead_score.person")
    view = f"""SELECT a.*, t.* EXCLUDE (account_id), best.best_contact_score
               FROM {ACCOUNTS_TABLE} a
               JOIN {ACCOUNT_TRAITS_TABLE} t USING (account_id)
               LEFT JOIN (SELECT am.account_id, max(s.lead_score) AS best_contact_score
                          FROM {MEMBERS_TABLE} am JOIN {LEAD_SCORES_TABLE} s USING (person_id)
                          GROUP BY am.account_id) best USING (account_id)"""
    accounts = lead_score_sql(
        scoring.account, scoring.max_score, view, "account_id, best_contact_score"
    )
    _create(
        conn,
        ACCOUNT_LEAD_SCORES_TABLE,
        f"{accounts} ORDER BY account_id",
        "accounts.lead_score.account",
    )
