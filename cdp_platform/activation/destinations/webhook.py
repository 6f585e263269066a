"""A generic signed webhook, per Standard Webhooks (standardwebhooks.com).

Each batch is one POST of `{"type": "<event>", "timestamp": ..., "data":
{"records": [...]}}` with the `webhook-id` (the batch's idempotency key, so a
receiver can drop a redelivery), `webhook-timestamp` and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of id.timestamp.body>`) headers, signed with the
`whsec_` secret by the `standardwebhooks` library. A 2xx accepts the batch;
410 disables the endpoint (nothing more is sent until the config changes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import requests
from standardwebhooks import Webhook

from cdp_platform.activation.destinations.base import ItemResult, Limits, post
from cdp_platform.activation.plan import Change

EVENTS = {
    "upsert": "profile.upserted",
    "insert": "profile.created",
    "update": "profile.updated",
    "delete": "profile.deleted",
    "erase": "subject.deleted",  # a DELETE privacy request
    "add": "audience.entered",
    "remove": "audience.exited",
}


class WebhookDestination:
    def __init__(
        self,
        url: str,
        secret: str,
        limits: Limits | None = None,
        session: requests.Session | None = None,
    ):
        self.name = "webhook"
        self.url = url
        self.account = f"webhook:{url}"
        self.limits = limits or Limits(batch_size=100, requests_per_second=20)
        self._signer = Webhook(secret)
        self._session = session or requests.Session()

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        moment = datetime.now(UTC)
        body = json.dumps(
            {
                "type": EVENTS[operation],
                "timestamp": moment.isoformat(),
                "data": {
                    "records": [
                        {
                            "key": c.key,
                            "person_id": c.person_id,
                            **({"fields": c.fields} if c.fields else {}),
                        }
                        for c in changes
                    ]
                },
            },
            default=str,
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": idempotency_key,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self._signer.sign(idempotency_key, moment, body),
        }
        post(self._session, "POST", self.url, self.limits.timeouts, data=body, headers=headers)
        return [ItemResult(c.key, True) for c in changes]
