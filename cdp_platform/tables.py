"""The warehouse tables every layer reads: each named here once, with the
asset that writes it.

A `Table` is its qualified name (`schema.table`, usable wherever SQL or a
function wants the name) that also knows its schema, its bare name and its
owning asset. Tables one layer alone reads keep their name in that layer's
module.
"""

from __future__ import annotations


class Table(str):
    """`schema.table`, with the asset that writes it (or the group, where every
    asset of a group writes its own rows)."""

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
# Tables every asset of a group writes its own rows of.
PARTITION_LOADS = Table("sources.partition_loads", owner="sources")
QUARANTINE = Table("sources.quarantine", owner="sources")
TOMBSTONE_HITS = Table("privacy.tombstone_hits", owner="sources")
SEGMENT_MEMBERSHIPS = Table("segments.segment_memberships", owner="segments")
SEGMENT_SIZES = Table("segments.segment_sizes", owner="segments")
SYNC_LOG = Table("activation.sync_log", owner="activation")
SYNC_STATE = Table("activation.sync_state", owner="activation")
# Identity's working tables and id history.
IDENTITY_NODES = Table("staging.identity_nodes", owner="identity_records")
RECORD_NODES = Table("staging.record_nodes", owner="identity_records")
NICKNAMES = Table("staging.nicknames", owner="identity_records")
MODEL_VERSIONS = Table("identity.model_versions", owner="identity_model")
RECORD_CLUSTERS = Table("identity.record_clusters", owner="identity_edges")
REVIEW_LABELS = Table("identity.review_labels", owner="identity_review_queue")
PERSONS = Table("identity.persons", owner="person_id_map")
PERSON_ID_HISTORY = Table("identity.person_id_history", owner="person_id_map")
# Privacy's requests and tombstones.
REQUEST_MATCHES = Table("privacy.request_matches", owner="privacy_subjects")
TOMBSTONES = Table("privacy.tombstones", owner="erased_subjects")
# Profiles read by privacy and segments.
PROFILE_PROVENANCE = Table("profiles.profile_provenance", owner="golden_profiles")
CUSTOMER_TIMELINE = Table("profiles.customer_timeline", owner="customer_timeline")
CONSENT_STATEMENTS = Table("profiles.consent_statements", owner="consent_state")
ACCOUNT_MEMBERS = Table("profiles.account_members", owner="accounts")
ACCOUNT_TRAITS = Table("profiles.account_traits", owner="account_traits")
LEAD_SCORES = Table("profiles.lead_scores", owner="lead_scores")
ACCOUNT_LEAD_SCORES = Table("profiles.account_lead_scores", owner="lead_scores")
SEGMENT_MEMBERSHIP_EVENTS = Table("segments.segment_membership_events", owner="segments")
# Landing sources more than one layer reads (their current-state tables).
CRM_CONTACTS = Table("sources.crm_contacts", owner="crm_contacts")
SHOP_ORDERS = Table("sources.shop_orders", owner="shop_orders")
WEB_EVENTS = Table("sources.web_events", owner="web_events")
SUPPORT_TICKETS = Table("sources.support_tickets", owner="support_tickets")
EMAIL_SUBSCRIBERS = Table("sources.email_subscribers", owner="email_subscribers")
