"""An ad audience shaped like Meta's custom audiences (`/{audience_id}/users`).

Members are matched on hashed identifiers only: each value is normalised the
way Meta asks (email: trimmed, lower case; phone: digits only with the country
code, no `+` or leading zeros) and then SHA-256 hashed, so no raw contact
detail leaves. `POST` adds and `DELETE` removes, up to 10,000 rows a call, with
`{"payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": [[...], ...]}}`;
Meta reports `num_received` and `num_invalid_entries`. The access token comes
from the environment and travels as a parameter, as the Graph API expects.
"""

from __future__ import annotations

import hashlib
import re

import requests

from cdp_platform.activation.destinations.base import BatchRejected, ItemResult, Limits, post
from cdp_platform.activation.plan import REMOVALS, Change

SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256"]


def normalise_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def normalise_phone(value: str | None) -> str | None:
    """E.164 `+44 7700 900123` -> `447700900123`: digits only, no leading zeros."""
    digits = re.sub(r"\D", "", value or "").lstrip("0")
    return digits or None


def sha256(value: str | None) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def hashed_row(fields: dict) -> list[str]:
    return [
        sha256(normalise_email(fields.get("email"))),
        sha256(normalise_phone(fields.get("phone"))),
    ]


class MetaAudienceDestination:
    def __init__(
        self,
        base_url: str,
        audience_id: str,
        access_token: str,
        limits: Limits | None = None,
        session: requests.Session | None = None,
    ):
        self.name = "meta"
        self.url = f"{base_url.rstrip('/')}/{audience_id}/users"
        self.account = f"meta:{base_url}:{access_token[-6:]}"
        self.limits = limits or Limits(batch_size=10_000, requests_per_second=5, max_concurrency=2)
        self._token = access_token
        self._session = session or requests.Session()

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        # Removals carry the hashes recorded when the member was added.
        rows = [
            hashed_row(c.fields) if c.fields else (c.destination_id or ":").split(":")
            for c in changes
        ]
        usable = [row for row in rows if any(row)]
        if usable:
            response = post(
                self._session,
                "DELETE" if operation in REMOVALS else "POST",
                self.url,
                self.limits.timeouts,
                params={"access_token": self._token},
                json={"payload": {"schema": SCHEMA, "data": usable}},
            )
            body = response.json() if response.content else {}
            if body.get("num_received", len(usable)) != len(usable):
                raise BatchRejected("meta received fewer rows than sent")
        return [
            ItemResult(c.key, True, destination_id=":".join(row))
            if any(row)
            else ItemResult(c.key, False, "no email or phone to match on")
            for c, row in zip(changes, rows, strict=True)
        ]
