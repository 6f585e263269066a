"""A messaging tool shaped like Braze's `/users/track`.

Profiles go out as `attributes` (one object per user, keyed by `external_id`
with the mapped fields); audience changes as `events` (`<audience>_entered` /
`<audience>_exited` with the time), up to 75 of each per request. Braze answers
201 with `errors` for the items it could not take (`input_array` and `index`
say which), which fail alone; a 400 refuses the request as a whole. Deletes
use `/users/delete` with the `external_ids`. The REST API key comes from the
environment.
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from cdp_platform.activation.destinations.base import ItemResult, Limits, post
from cdp_platform.activation.plan import Change

TRACK = "/users/track"
DELETE = "/users/delete"


class BrazeDestination:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        audience: str | None = None,
        limits: Limits | None = None,
        session: requests.Session | None = None,
    ):
        self.name = "braze"
        self.base_url = base_url.rstrip("/")
        self.account = f"braze:{self.base_url}:{api_key[-6:]}"
        self.audience = audience
        self.limits = limits or Limits(batch_size=75, requests_per_second=40, max_concurrency=4)
        self._session = session or requests.Session()
        self._session.headers["authorization"] = f"Bearer {api_key}"

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        if operation in ("delete", "erase"):
            post(
                self._session,
                "POST",
                self.base_url + DELETE,
                self.limits.timeouts,
                json={"external_ids": [c.key for c in changes]},
            )
            return [ItemResult(c.key, True) for c in changes]
        if operation in ("add", "remove"):
            name = f"{self.audience or 'audience'}_{'entered' if operation == 'add' else 'exited'}"
            now = datetime.now(UTC).isoformat()
            array = "events"
            items = [{"external_id": c.key, "name": name, "time": now} for c in changes]
        else:
            array = "attributes"
            items = [{"external_id": c.key, **c.fields} for c in changes]
        response = post(
            self._session,
            "POST",
            self.base_url + TRACK,
            self.limits.timeouts,
            json={array: items},
        )
        body = response.json() if response.content else {}
        failed = {
            error.get("index"): str(error.get("type", "error"))[:200]
            for error in body.get("errors", [])
            if error.get("input_array") == array
        }
        return [
            ItemResult(c.key, False, f"braze: {failed[i]}")
            if i in failed
            else ItemResult(c.key, True)
            for i, c in enumerate(changes)
        ]
