"""The landing contract: what each source's day file holds and how it is typed.

One `SourceSpec` per landing folder. The ingestion code, the demo generator and
the tests all read these specs, so the contract lives in exactly one place.

What makes a row *malformed* (and sends it to quarantine) is decided here too:
- CSV: a row whose field count differs from the header's;
- JSONL: a line that is not valid JSON or not a JSON object;
- any format: an empty natural key, an empty or unparseable *required* field
  (the source's own modification timestamp), a non-empty numeric field that is
  not a number, a non-empty timestamp that cannot be parsed, or a value outside
  a closed list where the spec declares one (`choices`).
Everything else that is merely dirty (odd phone formats, placeholders, missing
optional values, mixed case) is loaded as it is and cleaned in staging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "timestamp", "number", "integer", "json"]

# Timestamp formats the sources are known to use; tried in order by DuckDB's
# strptime. ISO 8601 with an offset or `Z` is handled by a plain cast first.
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # Shopify: 2026-10-07 09:50:26 +0200
    "%Y-%m-%dT%H:%M:%S.%g%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",  # Mailchimp and the tills: UTC without offset
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
)


@dataclass(frozen=True)
class Column:
    """One field of a landing record.

    `name` is the field as it appears in the file (CSV header, or a JSON path
    such as `context.page.url`); `column` is its snake_case name in the
    warehouse.
    """

    name: str
    column: str
    type: ColumnType = "text"
    required: bool = False
    pii: bool = False
    choices: tuple[str, ...] | None = None
    description: str = ""
    # Added to the contract later: files written before may lack the column.
    may_be_absent: bool = False

    @property
    def json_path(self) -> str:
        return "$." + ".".join(f'"{part}"' for part in self.name.split("."))


@dataclass(frozen=True)
class SourceSpec:
    """A landing source: folder, format, columns and keys."""

    name: str
    format: Literal["csv", "jsonl"]
    description: str
    columns: tuple[Column, ...]
    key: str  # column (warehouse name) holding the natural key
    modified_at: str | None  # column ordering versions of one key, if any
    # Dedupe unit of the current-state table when it differs from `key`:
    # web events are immutable messages keyed by messageId.
    dedupe_key: str | None = None
    # True when one version of a key spans several rows (an order's line
    # items): the current table keeps every row of the latest version.
    multi_row_versions: bool = False
    person_bearing: bool = True
    owner: str = "team:data-platform"

    @property
    def extension(self) -> str:
        return self.format

    @property
    def raw_table(self) -> str:
        return f"sources.{self.name}_raw"

    @property
    def current_table(self) -> str:
        return f"sources.{self.name}"

    @property
    def headers(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, column: str) -> Column:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(f"{self.name} has no column {column!r}")

    @property
    def pii_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.pii]


def _c(name: str, column: str | None = None, type: ColumnType = "text", **kw) -> Column:
    return Column(name=name, column=column or snake_case(name), type=type, **kw)


def snake_case(name: str) -> str:
    """`Country/Region` -> `country_region`, `MEMBER_RATING` -> `member_rating`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


CRM_CONTACTS = SourceSpec(
    name="crm_contacts",
    format="csv",
    description="CRM contacts (HubSpot contacts export), one file per day of changes.",
    columns=(
        _c("Record ID", required=True),
        _c("First Name", pii=True),
        _c("Last Name", pii=True),
        _c("Email", pii=True),
        _c("Phone Number", pii=True),
        _c("Street Address", pii=True),
        _c("City"),
        _c("Postal Code", pii=True),
        _c("Country/Region"),
        _c("Date of Birth", pii=True),
        _c("Company Name"),
        _c("Associated Company ID"),
        _c("Job Title"),
        _c("Lifecycle Stage"),
        _c("Email Subscription Status"),
        _c("Create Date", type="timestamp"),
        _c("Last Modified Date", type="timestamp", required=True),
    ),
    key="record_id",
    modified_at="last_modified_date",
)

CRM_COMPANIES = SourceSpec(
    name="crm_companies",
    format="csv",
    description="CRM companies (HubSpot companies export).",
    columns=(
        _c("Record ID", required=True),
        _c("Company name"),
        _c("Company Domain Name"),
        _c("Industry"),
        _c("Number of Employees", type="integer"),
        _c("Annual Revenue", type="number"),
        _c("Country/Region"),
        _c("Create Date", type="timestamp"),
        _c("Last Modified Date", type="timestamp", required=True),
    ),
    key="record_id",
    modified_at="last_modified_date",
    person_bearing=False,
)

SHOP_ORDERS = SourceSpec(
    name="shop_orders",
    format="csv",
    description=(
        "Web shop orders (Shopify orders export), one row per line item; "
        "order-level columns are filled on an order's first row only."
    ),
    columns=(
        _c("Name", required=True),
        _c("Email", pii=True),
        _c("Financial Status"),
        _c("Paid at", type="timestamp"),
        _c("Accepts Marketing"),
        _c("Currency"),
        _c("Subtotal", type="number"),
        _c("Shipping", type="number"),
        _c("Taxes", type="number"),
        _c("Total", type="number"),
        _c("Discount Code"),
        _c("Created at", type="timestamp"),
        _c("Lineitem quantity", type="integer"),
        _c("Lineitem name"),
        _c("Lineitem price", type="number"),
        _c("Lineitem sku"),
        _c("Billing Name", pii=True),
        _c("Billing Street", pii=True),
        _c("Billing City"),
        _c("Billing Zip", pii=True),
        _c("Billing Country"),
        _c("Billing Phone", pii=True),
        _c("Id"),
    ),
    key="name",
    modified_at=None,  # the export has no update timestamp: the file date orders versions
    multi_row_versions=True,
)

WEB_EVENTS = SourceSpec(
    name="web_events",
    format="jsonl",
    description="Web and app events (Segment Spec identify, track and page messages).",
    columns=(
        _c("messageId", "message_id", required=True),
        _c("type", required=True, choices=("identify", "track", "page")),
        _c("timestamp", "timestamp", type="timestamp", required=True),
        _c("anonymousId", "anonymous_id", required=True),
        _c("userId", "user_id"),
        _c("traits.email", "trait_email", pii=True),
        _c("traits.firstName", "trait_first_name", pii=True),
        _c("traits.lastName", "trait_last_name", pii=True),
        _c("traits.phone", "trait_phone", pii=True),
        _c("event", "event"),
        _c("properties", "properties", type="json"),
        _c("traits", "traits", type="json", pii=True),
        _c("context.ip", "context_ip", pii=True),
        _c("context.userAgent", "context_user_agent"),
        _c("context.page.url", "page_url"),
        _c("context.page.path", "page_path"),
        _c("context.page.referrer", "page_referrer"),
        _c("context.campaign.source", "campaign_source"),
        _c("context.campaign.medium", "campaign_medium"),
        _c("context.campaign.name", "campaign_name"),
    ),
    key="anonymous_id",
    modified_at="timestamp",
    dedupe_key="message_id",
)

SUPPORT_TICKETS = SourceSpec(
    name="support_tickets",
    format="jsonl",
    description="Support tickets (Zendesk tickets API shape).",
    columns=(
        _c("id", "id", required=True),
        _c("created_at", type="timestamp"),
        _c("updated_at", type="timestamp", required=True),
        _c("status"),
        _c("priority"),
        _c("channel"),
        _c("subject"),
        _c("satisfaction_rating.score", "satisfaction_score"),
        _c("requester.name", "requester_name", pii=True),
        _c("requester.email", "requester_email", pii=True),
        _c("requester.phone", "requester_phone", pii=True),
    ),
    key="id",
    modified_at="updated_at",
)

EMAIL_SUBSCRIBERS = SourceSpec(
    name="email_subscribers",
    format="csv",
    description="Email audience members (Mailchimp audience export).",
    columns=(
        _c("Email Address", pii=True),
        _c("First Name", pii=True),
        _c("Last Name", pii=True),
        _c("Phone Number", pii=True),
        _c("Status"),
        _c("MEMBER_RATING", type="integer"),
        _c("OPTIN_TIME", type="timestamp"),
        _c("CONFIRM_TIME", type="timestamp"),
        _c("LAST_CHANGED", type="timestamp", required=True),
        _c("LEID", required=True),
        _c("TAGS"),
    ),
    key="leid",
    modified_at="last_changed",
)

POS_LOYALTY = SourceSpec(
    name="pos_loyalty",
    format="csv",
    description="In-store loyalty card sign-ups and updates from the tills.",
    columns=(
        _c("card_number", required=True),
        _c("first_name", pii=True),
        _c("last_name", pii=True),
        _c("phone", pii=True),
        _c("email", pii=True),
        _c("postcode", pii=True),
        _c("birth_date", pii=True),
        _c("home_store"),
        _c("enrolled_at", type="timestamp"),
        _c("points_balance", type="integer"),
        _c("updated_at", type="timestamp", required=True),
        # Optional postal address from the sign-up form (an extension of the
        # till export; files without these columns load as before).
        _c("street", pii=True, may_be_absent=True),
        _c("city", may_be_absent=True),
    ),
    key="card_number",
    modified_at="updated_at",
)

POS_TRANSACTIONS = SourceSpec(
    name="pos_transactions",
    format="csv",
    description="In-store receipts; card_number is empty without a loyalty card.",
    columns=(
        _c("receipt_id", required=True),
        _c("card_number"),
        _c("store_id"),
        _c("purchased_at", type="timestamp", required=True),
        _c("total", type="number"),
        _c("currency"),
        _c("items", type="integer"),
    ),
    key="receipt_id",
    modified_at="purchased_at",
    person_bearing=False,
)

PRIVACY_REQUESTS = SourceSpec(
    name="privacy_requests",
    format="jsonl",
    description="Data-subject requests: DELETE, SUPPRESS and UNSUPPRESS.",
    columns=(
        _c("request_id", required=True),
        _c("type", required=True, choices=("DELETE", "SUPPRESS", "UNSUPPRESS")),
        _c(
            "identifier_type",
            required=True,
            choices=("email", "phone", "crm_record_id", "loyalty_card", "user_id"),
        ),
        _c("identifier_value", required=True, pii=True),
        _c("received_at", type="timestamp", required=True),
    ),
    key="request_id",
    modified_at="received_at",
    person_bearing=False,
)

SOURCES: dict[str, SourceSpec] = {
    s.name: s
    for s in (
        CRM_CONTACTS,
        CRM_COMPANIES,
        SHOP_ORDERS,
        WEB_EVENTS,
        SUPPORT_TICKETS,
        EMAIL_SUBSCRIBERS,
        POS_LOYALTY,
        POS_TRANSACTIONS,
        PRIVACY_REQUESTS,
    )
}

# Sources whose every record must appear in identity.person_id_map.
PERSON_SOURCES = tuple(name for name, s in SOURCES.items() if s.person_bearing)


def day_file_name(day: str, spec: SourceSpec) -> str:
    return f"{day}.{spec.extension}"


@dataclass
class FileRows:
    """Rows read from one day file before typing: each has its line and raw text."""

    file: str
    values: list[list[str | None]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
