"""Tables of the privacy layer."""

from cdp_platform.tables.table import Column, Table

# Each person's latest privacy request: erased or suppressed.
PRIVACY_SUBJECTS = Table(
    "privacy.subjects",
    owner="privacy_subjects",
    columns=(
        Column("person_id", "VARCHAR"),
        Column("status", "VARCHAR", "erased (for good) or suppressed"),
        Column("request_id", "VARCHAR", "the request that decided it"),
        Column("decided_at", "TIMESTAMPTZ"),
    ),
)
# Every request and the persons it matched.
REQUEST_MATCHES = Table("privacy.request_matches", owner="privacy_subjects")
# Salted digests of erased subjects' identifiers: what keeps them out of later loads.
TOMBSTONES = Table(
    "privacy.tombstones",
    owner="erased_subjects",
    columns=(
        Column("kind", "VARCHAR", "email or phone"),
        Column("digest", "VARCHAR", "salted SHA-256 of the identifier"),
        Column("request_id", "VARCHAR"),
        Column("created_at", "TIMESTAMPTZ"),
    ),
    key=("digest",),
    # Loading drops the rows of subjects erased by earlier runs before storing them.
    read_back_by=("sources",),
)
