"""Tables of the sources layer that other layers read."""

from cdp_platform.tables.table import Column, Table

# One row per source and day written: what was read, loaded and quarantined.
PARTITION_LOADS = Table(
    "sources.partition_loads",
    owner="sources",
    columns=(
        Column("source", "VARCHAR"),
        Column("partition_date", "DATE"),
        Column("file", "VARCHAR", "the landing file, NULL for a day without one"),
        Column("rows_read", "BIGINT"),
        Column("rows_loaded", "BIGINT"),
        Column("rows_quarantined", "BIGINT"),
        Column("run_id", "VARCHAR"),
        Column("loaded_at", "TIMESTAMPTZ"),
    ),
)
# Rows that could not be loaded, with the reason.
QUARANTINE = Table(
    "sources.quarantine",
    owner="sources",
    columns=(
        Column("source", "VARCHAR"),
        Column("file", "VARCHAR"),
        Column("line", "INTEGER", "line (CSV) or record (JSON lines) number in the file"),
        Column("raw", "VARCHAR", "the row as it came", pii=True),
        Column("reason", "VARCHAR", "names the field and what is wrong with it"),
        Column("partition_date", "DATE"),
    ),
)
# Rows of erased subjects dropped at loading, per source and day.
TOMBSTONE_HITS = Table(
    "privacy.tombstone_hits",
    owner="sources",
    columns=(
        Column("source", "VARCHAR"),
        Column("partition_date", "DATE"),
        Column("rows", "BIGINT"),
        Column("run_id", "VARCHAR"),
        Column("dropped_at", "TIMESTAMPTZ"),
    ),
)
# Landing sources more than one layer reads (their current-state tables,
# whose columns are the source contracts').
CRM_CONTACTS = Table("sources.crm_contacts", owner="crm_contacts")
SHOP_ORDERS = Table("sources.shop_orders", owner="shop_orders")
WEB_EVENTS = Table("sources.web_events", owner="web_events")
SUPPORT_TICKETS = Table("sources.support_tickets", owner="support_tickets")
EMAIL_SUBSCRIBERS = Table("sources.email_subscribers", owner="email_subscribers")
