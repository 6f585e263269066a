"""The warehouse tables every layer reads: each named here once, with the
asset that writes it.

A `Table` is its qualified name (`schema.table`, usable wherever SQL or a
function wants the name) that also knows its schema, its bare name and its
owning asset. Tables one layer alone reads keep their name in that layer's
module.
"""

from __future__ import annotations


class Table(str):
    """`schema.table`, with the asset that writes it."""

    owner: str

    def __new__(cls, qualified: str, owner: str) -> Table:
        table = super().__new__(cls, qualified)
        table.owner = owner
        return table

    @property
    def schema(self) -> str:
        return self.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.split(".", 1)[1]


# One standardised row per person-bearing source record.
IDENTITY_RECORDS = Table("staging.identity_records", owner="identity_records")
# The person of every record, ids stable across runs.
PERSON_ID_MAP = Table("identity.person_id_map", owner="person_id_map")
# Each person's latest privacy request: erased or suppressed.
PRIVACY_SUBJECTS = Table("privacy.subjects", owner="privacy_subjects")
# The identity graph: every candidate link, its evidence and decision.
IDENTITY_EDGES = Table("identity.identity_edges", owner="identity_edges")
# One golden profile per person.
GOLDEN_PROFILES = Table("profiles.golden_profiles", owner="golden_profiles")
# Declared traits per person.
CUSTOMER_TRAITS = Table("profiles.customer_traits", owner="customer_traits")
# Churn and value scores per person.
CUSTOMER_SCORES = Table("profiles.customer_scores", owner="customer_scores")
# Each person's consent per purpose.
CONSENT_STATE = Table("profiles.consent_state", owner="consent_state")
# B2B accounts.
ACCOUNTS = Table("profiles.accounts", owner="accounts")
