"""A CRM shaped like HubSpot's contacts API (v3 batch endpoints).

- upsert / insert / update: `POST /crm/v3/objects/contacts/batch/upsert` with
  `{"inputs": [{"idProperty": "email", "id": ..., "properties": {...}}]}`, up to
  100 inputs; 200 (all done) or 207 Multi-Status, whose `errors[].context.ids`
  name the inputs that failed;
- delete: `POST /crm/v3/objects/contacts/batch/archive` with the HubSpot ids
  the state remembers from the upsert;
- 429 carries `policyName`: a `DAILY` limit will not lift within the run, so it
  stops the sync; the secondly limits are retried after `Retry-After`.
The private-app token comes from the environment and is sent as a bearer token.
"""

from __future__ import annotations

import requests

from cdp_platform.activation.destinations.base import (
    DestinationDisabled,
    ItemResult,
    Limits,
    post,
)
from cdp_platform.activation.plan import Change

UPSERT = "/crm/v3/objects/contacts/batch/upsert"
ARCHIVE = "/crm/v3/objects/contacts/batch/archive"


class HubSpotDestination:
    def __init__(
        self,
        base_url: str,
        token: str,
        id_property: str = "email",
        limits: Limits | None = None,
        session: requests.Session | None = None,
    ):
        self.name = "hubspot"
        self.base_url = base_url.rstrip("/")
        self.account = f"hubspot:{self.base_url}:{token[-6:]}"
        self.id_property = id_property
        # HubSpot's private apps: 100 inputs a batch, about 10 requests a second.
        self.limits = limits or Limits(batch_size=100, requests_per_second=9, max_concurrency=4)
        self._session = session or requests.Session()
        self._session.headers["authorization"] = f"Bearer {token}"

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        if operation in ("delete", "erase"):
            return self._archive(changes)
        inputs = [
            {"idProperty": self.id_property, "id": c.key, "properties": _properties(c.fields)}
            for c in changes
        ]
        response = post(
            self._session,
            "POST",
            self.base_url + UPSERT,
            self.limits.timeout_seconds,
            inspect=raise_for_daily_limit,
            json={"inputs": inputs},
            headers={"idempotency-key": idempotency_key},
        )
        body = response.json() if response.content else {}
        failed: dict[str, str] = {}
        for error in body.get("errors", []):
            for key in error.get("context", {}).get("ids", []):
                failed[key] = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"[:200]
        ids = {
            (r.get("properties") or {}).get(self.id_property, r.get("id")): r.get("id")
            for r in body.get("results", [])
        }
        return [
            ItemResult(c.key, False, failed[c.key])
            if c.key in failed
            else ItemResult(c.key, True, destination_id=ids.get(c.key))
            for c in changes
        ]

    def _archive(self, changes: list[Change]) -> list[ItemResult]:
        known = [c for c in changes if c.destination_id]
        if known:
            post(
                self._session,
                "POST",
                self.base_url + ARCHIVE,
                self.limits.timeout_seconds,
                inspect=raise_for_daily_limit,
                json={"inputs": [{"id": c.destination_id} for c in known]},
            )
        # A contact never created there has nothing to archive.
        return [ItemResult(c.key, True) for c in changes]


def _properties(fields: dict) -> dict:
    return {k: "" if v is None else str(v) for k, v in fields.items()}


def raise_for_daily_limit(response: requests.Response) -> None:
    """HubSpot's daily limit: retrying today is pointless."""
    if response.status_code != 429:
        return
    try:
        policy = response.json().get("policyName")
    except ValueError:
        return
    if policy == "DAILY":
        raise DestinationDisabled("429 daily request limit reached")
