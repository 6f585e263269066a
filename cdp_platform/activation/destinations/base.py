"""What every destination is: a batch limit, a rate-limit policy, and a send that
answers per record or raises one of three kinds of error.

- `TransientError`: try the batch again later (429, 5xx, a timeout, a dropped
  connection), after `retry_after` seconds when the destination said so. Its
  `maybe_applied` says whether the destination may have applied the batch all
  the same: a read timeout or a connection dropped after the request went out
  (the server may have done the work and lost only the answer), as opposed to
  a refused or timed-out connection, or an error status, where it did not;
- `BatchRejected`: the destination refused the batch as a whole (a 400); the
  engine splits it to find the records to blame;
- `DestinationDisabled`: stop sending to it (a webhook answering 410).

Timeouts are two: connecting (short: a host that does not accept a connection
within seconds is down) and reading the answer (generous: a batch the server is
still working on should not be sent again). No vendor here documents a bound
on how long a batch call may take; HubSpot batch upserts of 100 contacts have
been seen answering past 10 s under load, so the read timeout defaults to 60 s
and each destination can set its own through `Limits(timeout_seconds=...)`.

What a retry after a maybe-applied failure does, per destination (the engine
retries with the same idempotency key, derived from the batch's content):
- webhook: the same `webhook-id`, which Standard Webhooks receivers use to drop
  a redelivery: harmless;
- HubSpot batch upsert by `idProperty`, Braze `/users/track` attributes,
  Postgres `INSERT ... ON CONFLICT DO UPDATE`, Meta audience adds and removes:
  the same values written again, idempotent in effect (the vendor may count
  the write twice, but nothing is duplicated in what it holds);
- Braze audience *events* (`<audience>_entered`) and Postgres `insert` mode:
  a retry may record the event twice; no idempotency key is honoured there.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests
import urllib3

from cdp_platform.activation.plan import Change


class TransientError(Exception):
    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        maybe_applied: bool = False,
        read_timeout: bool = False,
    ):
        super().__init__(message)
        self.retry_after = retry_after
        # The destination may have applied the batch and lost only the answer.
        self.maybe_applied = maybe_applied or read_timeout
        self.read_timeout = read_timeout


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


CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    batch_size: int
    requests_per_second: float
    max_concurrency: int = 4
    # Waiting for the answer once the request is sent: generous, so a slow success
    # is not taken for a failure and sent again.
    timeout_seconds: float = READ_TIMEOUT_SECONDS
    # Waiting for a connection: short, since nothing was sent yet.
    connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS

    @property
    def timeouts(self) -> tuple[float, float]:
        """`(connect, read)` as `requests` takes them."""
        return (min(self.connect_timeout_seconds, self.timeout_seconds), self.timeout_seconds)


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


def _timeouts(timeout: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(timeout, tuple):
        return timeout
    return (min(CONNECT_TIMEOUT_SECONDS, timeout), timeout)


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection itself failed, so the request never reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError) or isinstance(
        cause, urllib3.exceptions.NewConnectionError
    )


def post(
    session: requests.Session,
    method: str,
    url: str,
    timeout: float | tuple[float, float],
    inspect=None,
    **kwargs,
) -> requests.Response:
    """One HTTP call whose failures come back as the engine's kinds of error.

    `timeout` is `(connect, read)` seconds, or the read timeout alone (the connect
    timeout is then at most `CONNECT_TIMEOUT_SECONDS`). `inspect(response)` sees an
    error response first and may raise a more precise error (a vendor's own code
    for a limit that will not lift). Only the status and a short reason are kept
    in messages: response bodies may echo the records sent, and those must not
    reach logs."""
    connect, read = _timeouts(timeout)
    try:
        response = session.request(method, url, timeout=(connect, read), **kwargs)
    except requests.ConnectTimeout as exc:
        raise TransientError(f"could not connect within {connect:g}s") from exc
    except requests.Timeout as exc:
        raise TransientError(f"no answer within {read:g}s", read_timeout=True) from exc
    except requests.ConnectionError as exc:
        if _never_sent(exc):
            raise TransientError("connection refused or failed") from exc
        raise TransientError("connection dropped before an answer", maybe_applied=True) from exc
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
