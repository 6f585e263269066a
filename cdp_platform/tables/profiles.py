"""Tables of the profiles layer. Traits tables take their columns from the
traits `config/profiles.yaml` declares, so only their names are here."""

from cdp_platform.tables.table import Column, Table

# One golden profile per person.
GOLDEN_PROFILES = Table(
    "profiles.golden_profiles",
    owner="golden_profiles",
    columns=(
        Column("person_id", "VARCHAR", "stable person id"),
        Column("first_name", "VARCHAR", "title case", pii=True),
        Column("last_name", "VARCHAR", "title case", pii=True),
        Column("email", "VARCHAR", "the chosen email", pii=True),
        Column("phone", "VARCHAR", "the chosen phone, E.164", pii=True),
        Column("street", "VARCHAR", pii=True),
        Column("city", "VARCHAR"),
        Column("postcode", "VARCHAR", "UK postcodes with their space", pii=True),
        Column("country", "VARCHAR", "ISO 3166 alpha-2"),
        Column("dob", "DATE", "date of birth", pii=True),
        Column("emails", "VARCHAR[]", "every email the person's records carry", pii=True),
        Column("phones", "VARCHAR[]", "every phone the person's records carry", pii=True),
        Column("sources", "VARCHAR[]", "sources holding the person"),
        Column("records", "BIGINT", "source records of the person"),
    ),
)
# Which record and rule each golden value came from.
PROFILE_PROVENANCE = Table("profiles.profile_provenance", owner="golden_profiles")
# Declared traits per person.
CUSTOMER_TRAITS = Table("profiles.customer_traits", owner="customer_traits")
# Each person's consent per purpose.
CONSENT_STATE = Table(
    "profiles.consent_state",
    owner="consent_state",
    columns=(
        Column("person_id", "VARCHAR", "stable person id"),
        Column("purpose", "VARCHAR", "a consent purpose"),
        Column("status", "VARCHAR", "granted, denied or unknown (treated as denied)"),
        Column("stated_at", "TIMESTAMPTZ", "when the deciding statement was made"),
        Column("source", "VARCHAR", "the source that made it"),
        Column("source_record_id", "VARCHAR", "the record that made it"),
    ),
)
CONSENT_STATEMENTS = Table("profiles.consent_statements", owner="consent_state")
# Every order, receipt, ticket, consent statement and web session per person.
CUSTOMER_TIMELINE = Table(
    "profiles.customer_timeline",
    owner="customer_timeline",
    columns=(
        Column("person_id", "VARCHAR", "stable person id"),
        Column("occurred_at", "TIMESTAMPTZ"),
        Column("kind", "VARCHAR", "order, receipt, ticket, consent or web_session"),
        Column("source_record_id", "VARCHAR", "the order, receipt, ticket or browser"),
        Column("summary", "VARCHAR", "one line for a service agent"),
        Column("amount", "DECIMAL(18,2)", "orders and receipts"),
    ),
)
# Churn and value scores per person.
CUSTOMER_SCORES = Table(
    "profiles.customer_scores",
    owner="customer_scores",
    columns=(
        Column("person_id", "VARCHAR", "stable person id"),
        Column("as_of", "DATE", "the day scored"),
        Column("churn_probability", "DOUBLE", "probability of no purchase in the churn horizon"),
        Column("churn_risk", "VARCHAR", "high, medium or low, by config risk_bands"),
        Column("predicted_value", "DECIMAL(18,2)", "expected spend over the value horizon"),
        Column("churn_model", "VARCHAR", "model version, described in the score models table"),
        Column("value_model", "VARCHAR", "model version, described in the score models table"),
    ),
)
# B2B accounts.
ACCOUNTS = Table(
    "profiles.accounts",
    owner="accounts",
    columns=(
        Column("account_id", "VARCHAR", "stable: a hash of the primary domain"),
        Column("name", "VARCHAR", "from the most recently edited CRM company"),
        Column("domain", "VARCHAR", "primary domain"),
        Column("domains", "VARCHAR[]", "every work domain resolved to the account"),
        Column("industry", "VARCHAR"),
        Column("employees", "BIGINT"),
        Column("annual_revenue", "DOUBLE"),
        Column("country", "VARCHAR"),
        Column("crm_company_ids", "VARCHAR[]", "CRM companies merged into the account"),
        Column("source_company_id", "VARCHAR", "the CRM company the values come from"),
    ),
)
ACCOUNT_MEMBERS = Table("profiles.account_members", owner="accounts")
ACCOUNT_TRAITS = Table("profiles.account_traits", owner="account_traits")
LEAD_SCORES = Table(
    "profiles.lead_scores",
    owner="lead_scores",
    columns=(
        Column("person_id", "VARCHAR", "every person"),
        Column("account_id", "VARCHAR", "the person's primary account, if any"),
        Column("lead_score", "INTEGER", "points of the rules met, 0 to max_score"),
        Column("lead_score_reasons", "VARCHAR[]", "the rules that fired"),
    ),
)
ACCOUNT_LEAD_SCORES = Table("profiles.account_lead_scores", owner="lead_scores")
