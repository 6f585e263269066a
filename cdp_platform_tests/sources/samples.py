"""Well-formed sample records per landing source, and writers for day files.

Tests start from these valid records and change one field at a time, so each
test shows exactly which value makes a row good or bad.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cdp_platform.source_contracts import SOURCES

VALID: dict[str, dict] = {
    "crm_contacts": {
        "Record ID": "101",
        "First Name": "Robert",
        "Last Name": "Smith",
        "Email": "Rob.Smith@Example.com ",
        "Phone Number": "07700 900123",
        "Street Address": "1 High Street, Flat 2",
        "City": "London",
        "Postal Code": "SW1A 1AA",
        "Country/Region": "GB",
        "Date of Birth": "1980-01-02",
        "Company Name": "",
        "Associated Company ID": "",
        "Job Title": "",
        "Lifecycle Stage": "customer",
        "Email Subscription Status": "subscribed",
        "Create Date": "2026-08-01T09:00:00+01:00",
        "Last Modified Date": "2026-08-01T10:30:00+01:00",
    },
    "crm_companies": {
        "Record ID": "9001",
        "Company name": "Acme Ltd",
        "Company Domain Name": "acme.co.uk",
        "Industry": "Retail",
        "Number of Employees": "250",
        "Annual Revenue": "12500000.50",
        "Country/Region": "GB",
        "Create Date": "2026-08-01T08:00:00Z",
        "Last Modified Date": "2026-08-01T08:00:00Z",
    },
    "shop_orders": {
        "Name": "#1042",
        "Email": "rob.smith@example.com",
        "Financial Status": "paid",
        "Paid at": "2026-08-01 09:50:26 +0200",
        "Accepts Marketing": "yes",
        "Currency": "GBP",
        "Subtotal": "40.00",
        "Shipping": "4.99",
        "Taxes": "8.00",
        "Total": "44.99",
        "Discount Code": "",
        "Created at": "2026-08-01 09:50:26 +0200",
        "Lineitem quantity": "2",
        "Lineitem name": "Mug, blue",
        "Lineitem price": "20.00",
        "Lineitem sku": "MUG-BLU",
        "Billing Name": "Rob Smith",
        "Billing Street": "1 High St",
        "Billing City": "London",
        "Billing Zip": "SW1A1AA",
        "Billing Country": "GB",
        "Billing Phone": "+44 7700 900123",
        "Id": "5001042",
    },
    "web_events": {
        "messageId": "msg-1",
        "type": "identify",
        "timestamp": "2026-08-01T12:00:00.123Z",
        "anonymousId": "anon-1",
        "userId": "u-77",
        "traits": {"email": "rob@example.com", "firstName": "Rob", "lastName": "Smith"},
        "context": {
            "ip": "203.0.113.9",
            "userAgent": "Mozilla/5.0",
            "page": {"url": "https://shop.example/", "path": "/", "referrer": ""},
            "campaign": {"source": "newsletter", "medium": "email", "name": "aug"},
        },
    },
    "support_tickets": {
        "id": 501,
        "created_at": "2026-08-01T11:00:00Z",
        "updated_at": "2026-08-01T11:05:00Z",
        "status": "open",
        "priority": "normal",
        "channel": "email",
        "subject": "Where is my order?",
        "satisfaction_rating": {"score": "unoffered"},
        "requester": {"name": "Rob Smith", "email": "rob@example.com", "phone": None},
    },
    "email_subscribers": {
        "Email Address": "rob@example.com",
        "First Name": "Rob",
        "Last Name": "Smith",
        "Phone Number": "",
        "Status": "subscribed",
        "MEMBER_RATING": "3",
        "OPTIN_TIME": "2026-07-01 08:00:00",
        "CONFIRM_TIME": "2026-07-01 08:05:00",
        "LAST_CHANGED": "2026-08-01 08:05:00",
        "LEID": "L-1",
        "TAGS": '"vip","newsletter"',
    },
    "pos_loyalty": {
        "card_number": "6000123412341234",
        "first_name": "Robert",
        "last_name": "Smith",
        "phone": "07700900123",
        "email": "",
        "postcode": "sw1a 1aa",
        "birth_date": "02/01/1980",
        "home_store": "S01",
        "enrolled_at": "2026-08-01 10:00:00",
        "points_balance": "120",
        "updated_at": "2026-08-01 10:00:00",
    },
    "pos_transactions": {
        "receipt_id": "R-1",
        "card_number": "6000123412341234",
        "store_id": "S01",
        "purchased_at": "2026-08-01 10:05:00",
        "total": "12.50",
        "currency": "GBP",
        "items": "3",
    },
    "privacy_requests": {
        "request_id": "PR-1",
        "type": "DELETE",
        "identifier_type": "email",
        "identifier_value": "rob@example.com",
        "received_at": "2026-08-01T15:00:00Z",
    },
}


def record(source: str, changes: dict | None = None, **more) -> dict:
    """A valid record of `source` with some fields changed (by header name)."""
    row = json.loads(json.dumps(VALID[source]))
    row.update(changes or {})
    row.update(more)
    return row


def write_day_file(landing: Path, source: str, day: str, records: list) -> Path:
    """Write records as the day file of `source`; a str record is written verbatim."""
    spec = SOURCES[source]
    path = landing / source / f"{day}.{spec.extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        if spec.format == "csv":
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(spec.headers)
            for rec in records:
                if isinstance(rec, str):
                    handle.write(rec + "\n")
                else:
                    writer.writerow([rec.get(h, "") for h in spec.headers])
        else:
            for rec in records:
                handle.write((rec if isinstance(rec, str) else json.dumps(rec)) + "\n")
    return path
