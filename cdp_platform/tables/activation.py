"""Tables every sync asset writes its own rows of."""

from cdp_platform.tables.table import Column, Table

# What each destination last accepted per record, and what is in flight.
SYNC_STATE = Table(
    "activation.sync_state",
    owner="activation",
    columns=(
        Column("sync", "VARCHAR"),
        Column("key", "VARCHAR", "the record's key in the destination"),
        Column("person_id", "VARCHAR"),
        Column("accepted_hash", "VARCHAR", "hash of the payload the destination accepted"),
        Column("destination_id", "VARCHAR"),
        Column("failed", "BOOLEAN"),
        Column("last_error", "VARCHAR"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("in_flight_hash", "VARCHAR", "a payload sent whose answer is not yet recorded"),
    ),
    key=("sync", "key"),
    # A request's status names the syncs still holding an erased subject.
    read_back_by=("privacy",),
)
# One row per record per sync run: what was sent and what the destination said.
SYNC_LOG = Table(
    "activation.sync_log",
    owner="activation",
    columns=(
        Column("sync", "VARCHAR"),
        Column("run_id", "VARCHAR"),
        Column("person_id", "VARCHAR"),
        Column("key", "VARCHAR"),
        Column("operation", "VARCHAR", "upsert or remove"),
        Column("status", "VARCHAR"),
        Column("error", "VARCHAR"),
        Column("logged_at", "TIMESTAMPTZ"),
    ),
)
