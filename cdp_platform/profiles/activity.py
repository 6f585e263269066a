"""What people did, one view per kind of activity, each row with its person.

Traits are aggregates over these views, so every trait of one kind counts
the same things:
- `purchases`: web-shop orders (the order's first line of its latest
  version; voided and refunded orders are not purchases) and in-store
  receipts made with a loyalty card, with `channel` `web` or `store`;
- `tickets`: support tickets, with their status and satisfaction score;
- `email`: mailing-list memberships, with status and member rating;
- `web`: web events of a person's browsers (`page` views and `track` events),
  each with its session.
Each has `person_id` and `occurred_at`; `activity_sql` builds them as of a day.
"""

from __future__ import annotations

from cdp_platform.tables.identity import PERSON_ID_MAP
from cdp_platform.tables.sources import EMAIL_SUBSCRIBERS, SHOP_ORDERS, SUPPORT_TICKETS, WEB_EVENTS

MAP = PERSON_ID_MAP

ACTIVITIES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    # name -> ({source table: SQL of its part}, columns a trait may aggregate)
    "purchases": (
        {
            "shop_orders": f"""
        SELECT m.person_id, 'web' AS channel, o.source_record_id AS purchase_id,
               o.created_at AS occurred_at, o.total AS amount, o.currency
        FROM (
          SELECT * FROM {SHOP_ORDERS}
          QUALIFY row_number() OVER (
            PARTITION BY source_record_id ORDER BY _partition_date DESC, _line) = 1
        ) o
        JOIN {MAP} m ON m.source = 'shop_orders' AND m.source_record_id = o.source_record_id
        WHERE o.financial_status NOT IN ('voided', 'refunded')""",
            "pos_transactions": f"""
        SELECT m.person_id, 'store' AS channel, t.receipt_id AS purchase_id,
               t.purchased_at AS occurred_at, t.total AS amount, t.currency
        FROM sources.pos_transactions t
        JOIN {MAP} m ON m.source = 'pos_loyalty' AND m.source_record_id = t.card_number""",
        },
        ("channel", "purchase_id", "occurred_at", "amount", "currency"),
    ),
    "tickets": (
        {
            "support_tickets": f"""
        SELECT m.person_id, t.id AS ticket_id, t.created_at AS occurred_at, t.status,
               t.priority, t.channel, t.satisfaction_score
        FROM {SUPPORT_TICKETS} t
        JOIN {MAP} m ON m.source = 'support_tickets' AND m.source_record_id = t.source_record_id""",
        },
        ("ticket_id", "occurred_at", "status", "priority", "channel", "satisfaction_score"),
    ),
    "email": (
        {
            "email_subscribers": f"""
        SELECT m.person_id, s.leid AS member_id, coalesce(s.last_changed, s.optin_time)
                 AS occurred_at, s.status, s.member_rating
        FROM {EMAIL_SUBSCRIBERS} s
        JOIN {MAP} m ON m.source = 'email_subscribers' AND m.source_record_id = s.source_record_id""",
        },
        ("member_id", "occurred_at", "status", "member_rating"),
    ),
    "web": (
        {
            "web_events": f"""
        SELECT m.person_id, w.anonymous_id, w.timestamp AS occurred_at, w.type, w.event,
               w.page_path,
               -- a session: a browser's events with no gap over 30 minutes
               w.anonymous_id || ':' || sum(w.new_session) OVER (
                 PARTITION BY w.anonymous_id ORDER BY w.timestamp, w.message_id) AS session_id
        FROM (
          SELECT *, CASE WHEN timestamp - lag(timestamp) OVER (
                      PARTITION BY anonymous_id ORDER BY timestamp, message_id)
                      <= INTERVAL 30 MINUTE THEN 0 ELSE 1 END AS new_session
          FROM {WEB_EVENTS}
        ) w
        JOIN {MAP} m ON m.source = 'web_events' AND m.source_record_id = w.anonymous_id""",
        },
        ("anonymous_id", "occurred_at", "type", "event", "page_path", "session_id"),
    ),
}


# What each activity column holds (for trait types and segment conditions).
COLUMN_TYPES = {
    "occurred_at": "timestamp",
    "amount": "number",
    "member_rating": "integer",
    **{
        column: "text"
        for column in (
            "channel",
            "purchase_id",
            "currency",
            "ticket_id",
            "status",
            "priority",
            "satisfaction_score",
            "member_id",
            "anonymous_id",
            "type",
            "event",
            "page_path",
            "session_id",
        )
    },
}


def activity_sql(name: str, as_of: str, tables: set[str]) -> str | None:
    """The activity `name` up to the end of day `as_of` (YYYY-MM-DD) from the loaded
    source `tables`; None when none of its sources is loaded. Later rows do not
    exist yet for a profile built as of that day, so a backfill gives the same traits."""
    parts = [sql for table, sql in ACTIVITIES[name][0].items() if table in tables]
    if not parts:
        return None
    union = " UNION ALL BY NAME ".join(f"({part})" for part in parts)
    return f"SELECT * FROM ({union}) WHERE occurred_at < DATE '{as_of}' + INTERVAL 1 DAY"
