"""Tables of the staging and identity layers."""

from cdp_platform.tables.table import Column, Table

# One standardised row per person-bearing source record.
IDENTITY_RECORDS = Table(
    "staging.identity_records",
    owner="identity_records",
    columns=(
        Column("source", "VARCHAR", "landing source"),
        Column("source_record_id", "VARCHAR", "natural key in that source"),
        Column("first_name", "VARCHAR", "lower case, plain letters", pii=True),
        Column("last_name", "VARCHAR", "lower case, plain letters", pii=True),
        Column("email", "VARCHAR", "trimmed, lower case, valid, not blocked", pii=True),
        Column("phone", "VARCHAR", "E.164", pii=True),
        Column("street", "VARCHAR", "abbreviations expanded", pii=True),
        Column("city", "VARCHAR"),
        Column("postcode", "VARCHAR", "upper case, no spaces", pii=True),
        Column("country", "VARCHAR", "ISO 3166 alpha-2"),
        Column("user_id", "VARCHAR", "web shop account id (Segment userId)"),
        Column("anonymous_id", "VARCHAR", "browser id (web events)"),
        Column("crm_record_id", "VARCHAR"),
        Column("loyalty_card", "VARCHAR"),
        Column("observed_at", "TIMESTAMPTZ", "the record's latest change"),
        Column("order_ids", "VARCHAR[]", "web-shop orders the record is tied to"),
        Column("phone_kind", "VARCHAR", "mobile, fixed or NULL (unknown)"),
        Column("dob", "DATE", "date of birth", pii=True),
        Column("first_name_canonical", "VARCHAR", "nickname resolved (bob -> robert)", pii=True),
        Column(
            "email_match",
            "VARCHAR",
            "email with +tags, gmail dots and mistyped domains folded",
            pii=True,
        ),
    ),
)
# Identity's working tables: records with equal identity fields are one node.
IDENTITY_NODES = Table("staging.identity_nodes", owner="identity_records")
RECORD_NODES = Table("staging.record_nodes", owner="identity_records")
NICKNAMES = Table("staging.nicknames", owner="identity_records")
# The identity graph: every candidate link, its evidence and decision.
IDENTITY_EDGES = Table(
    "identity.identity_edges",
    owner="identity_edges",
    columns=(
        Column("record_a", "VARCHAR", "`source:source_record_id` of one record"),
        Column("record_b", "VARCHAR", "`source:source_record_id` of the other"),
        Column("edge_kind", "VARCHAR", "deterministic or probabilistic"),
        Column("identifier", "VARCHAR", "the strongest identifier offering the link"),
        Column("match_probability", "DOUBLE", "1.0 for deterministic links"),
        Column(
            "evidence", "VARCHAR", "every reason offered: identifiers, Splink comparison levels"
        ),
        Column("decision", "VARCHAR", "linked (one person) or refused"),
        Column("refusal", "VARCHAR", "why a refused link would make an implausible person"),
    ),
)
RECORD_CLUSTERS = Table("identity.record_clusters", owner="identity_edges")
# The person of every record, ids stable across runs.
PERSON_ID_MAP = Table(
    "identity.person_id_map",
    owner="person_id_map",
    columns=(
        Column("source", "VARCHAR"),
        Column("source_record_id", "VARCHAR"),
        Column("person_id", "VARCHAR", "stable text id of the person"),
    ),
)
# Every person id ever given, and what became of it.
PERSONS = Table(
    "identity.persons",
    owner="person_id_map",
    columns=(
        Column("person_id", "VARCHAR"),
        Column("created_seq", "BIGINT"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("status", "VARCHAR", "active, or merged into another id"),
        Column("merged_into", "VARCHAR"),
    ),
    key=("person_id",),
)
# Every create, merge and split of a person id.
PERSON_ID_HISTORY = Table(
    "identity.person_id_history",
    owner="person_id_map",
    columns=(
        Column("run_id", "VARCHAR"),
        Column("recorded_at", "TIMESTAMPTZ"),
        Column("event", "VARCHAR", "created, merged or split"),
        Column("person_id", "VARCHAR"),
        Column("other_person_id", "VARCHAR", "the id merged in, or split from"),
        Column("records", "BIGINT"),
    ),
)
# Every trained Splink model; prediction uses the current one.
MODEL_VERSIONS = Table(
    "identity.model_versions",
    owner="identity_model",
    columns=(
        Column("version", "VARCHAR"),
        Column("trained_at", "TIMESTAMPTZ"),
        Column("is_current", "BOOLEAN"),
        Column("records", "BIGINT"),
        Column("model_json", "VARCHAR", "Splink's settings and trained parameters"),
        Column("profile_json", "VARCHAR"),
        Column("report_json", "VARCHAR"),
    ),
)
# The pairs in the review band, most uncertain first.
REVIEW_QUEUE = Table(
    "identity.review_queue",
    owner="identity_review_queue",
    columns=(
        Column("record_a", "VARCHAR", "`source:source_record_id` of one record"),
        Column("record_b", "VARCHAR", "`source:source_record_id` of the other"),
        Column("match_probability", "DOUBLE", "Splink's probability"),
        Column("decision", "VARCHAR", "linked or refused on the last run"),
        Column("evidence", "VARCHAR", "the comparison levels behind it"),
        Column("label", "VARCHAR", "match, non-match, or NULL while pending"),
        Column("labelled_at", "TIMESTAMPTZ"),
    ),
)
# A data team's labels of reviewed pairs.
REVIEW_LABELS = Table(
    "identity.review_labels",
    owner="identity_review_queue",
    columns=(
        Column("record_a", "VARCHAR"),
        Column("record_b", "VARCHAR"),
        Column("label", "VARCHAR", "match or non-match"),
        Column("labelled_at", "TIMESTAMPTZ"),
        Column("labelled_by", "VARCHAR"),
    ),
    key=("record_a", "record_b"),
    # Training and linking apply the labels given on earlier runs' queues.
    read_back_by=("identity",),
)
