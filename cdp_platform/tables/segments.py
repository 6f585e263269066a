"""Tables every segment asset writes its own rows of."""

from cdp_platform.tables.table import Column, Table

SEGMENT_MEMBERSHIPS = Table(
    "segments.segment_memberships",
    owner="segments",
    columns=(
        Column("segment", "VARCHAR"),
        Column("person_id", "VARCHAR"),
        Column("holdout", "BOOLEAN", "kept out of every sync to measure lift"),
        Column("entered_at", "TIMESTAMPTZ"),
        Column("as_of", "DATE"),
    ),
)
SEGMENT_MEMBERSHIP_EVENTS = Table(
    "segments.segment_membership_events",
    owner="segments",
    columns=(
        Column("segment", "VARCHAR"),
        Column("person_id", "VARCHAR"),
        Column("event", "VARCHAR", "entered or exited"),
        Column("holdout", "BOOLEAN"),
        Column("as_of", "DATE"),
        Column("occurred_at", "TIMESTAMPTZ"),
        Column("run_id", "VARCHAR"),
    ),
)
SEGMENT_SIZES = Table(
    "segments.segment_sizes",
    owner="segments",
    columns=(
        Column("segment", "VARCHAR"),
        Column("as_of", "DATE"),
        Column("size", "BIGINT"),
        Column("holdout", "BIGINT"),
        Column("entered", "BIGINT"),
        Column("exited", "BIGINT"),
        Column("recorded_at", "TIMESTAMPTZ"),
        Column("run_id", "VARCHAR"),
    ),
)
