"""What every destination is: a batch limit, a rate-limit policy, and a send that
answers per record or raises one of three kinds of error.

- `TransientError`: try the batch again later (429, 5xx, a timeout, a dropped
  connection), after `retry_after` seconds when the destination said so;
- `BatchRejected`: the destination refused the batch as a whole (a 400); the
  engine splits it to find the records to blame;
- `DestinationDisabled`: stop sending to it (a webhook answering 410).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests

from cdp_platform.activation.plan import Change


class TransientError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class BatchRejected(Exception):
    pass


class DestinationDisabled(Exception):
    pass


@dataclass(frozen=True)
class ItemResult:
    key: str
    accepted: bool
    error: str | None = None
    destination_id: str | None = None


@dataclass(frozen=True)
class Limits:
    batch_size: int
    requests_per_second: float
    max_concurrency: int = 4
    timeout_seconds: float = 10.0


class Destination(Protocol):
    name: str
    limits: Limits
    # Requests that share it share one rate limit (one vendor account).
    account: str

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        """Deliver one batch of one operation; per-record results, or raise."""
        ...


def retry_after_seconds(response: requests.Response) -> float | None:
    """`Retry-After` as seconds, from either of its forms (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def post(
    session: requests.Session,
    method: str,
    url: str,
    timeout: float,
    inspect=None,
    **kwargs,
) -> requests.Response:
    """One HTTP call whose failures come back as the engine's kinds of error.

    `inspect(response)` sees an error response first and may raise a more
    precise error (a vendor's own code for a limit that will not lift). Only
    the status and a short reason are kept in messages: response bodies may
    echo the records sent, and those must not reach logs."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TransientError(f"timed out after {timeout:g}s") from exc
    except requests.ConnectionError as exc:
        raise TransientError("connection failed or dropped") from exc
    status = response.status_code
    if status >= 400 and inspect is not None:
        inspect(response)
    if status == 429:
        raise TransientError("429 rate limited", retry_after_seconds(response))
    if status >= 500:
        raise TransientError(f"{status} server error", retry_after_seconds(response))
    if status == 410:
        raise DestinationDisabled("410 gone: the endpoint is disabled")
    if status in (400, 413, 422):
        raise BatchRejected(f"{status} rejected")
    if status in (401, 403):
        raise DestinationDisabled(f"{status} unauthorised: check the credentials")
    if status >= 400:
        raise BatchRejected(f"{status} refused")
    return response
