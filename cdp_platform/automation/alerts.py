"""Run-failure alerts: recorded to a file, and posted to a webhook when one is set.

The post is a JSON object with a `text` line (what chat incoming-webhooks
show) and the structured fields; with `CDP_ALERT_WEBHOOK_SECRET` set it is
signed per Standard Webhooks, the run id as `webhook-id` so a receiver can
drop a redelivery. Error text is scrubbed of emails and phone numbers, and
the webhook address (which often holds a token) is never logged.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import tenacity
from standardwebhooks import Webhook

from cdp_platform.masking import scrub_text

MAX_ERROR_CHARS = 500
TIMEOUT_SECONDS = 10


@dataclass
class Alert:
    run_id: str
    job: str
    error: str
    failed_steps: list[str] = field(default_factory=list)
    url: str = ""
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    kind: str = "run.failed"

    @property
    def text(self) -> str:
        steps = f" at {', '.join(self.failed_steps)}" if self.failed_steps else ""
        return f"Run {self.run_id[:8]} of {self.job} failed{steps}: {self.error} {self.url}".strip()


def failure_alert(
    run_id: str, job: str, message: str | None, failed_steps: list[str], ui_url: str
) -> Alert:
    first_line = (message or "no error message").strip().splitlines()[0]
    return Alert(
        run_id=run_id,
        job=job,
        error=scrub_text(first_line)[:MAX_ERROR_CHARS],
        failed_steps=sorted(set(failed_steps)),
        url=f"{ui_url}/runs/{run_id}",
    )


def record_alert(alert: Alert, path: Path, delivery: str) -> None:
    """Append the alert and how its delivery went (`posted`, `failed: ...`, `no webhook`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({**asdict(alert), "delivery": delivery}) + "\n")


def read_alerts(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.HTTPError):
        return exc.response is not None and exc.response.status_code >= 500
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


@tenacity.retry(
    retry=tenacity.retry_if_exception(_retryable),
    wait=tenacity.wait_exponential(multiplier=0.5, max=5) + tenacity.wait_random(0, 0.5),
    stop=tenacity.stop_after_attempt(3),
    reraise=True,
)
def post_alert(alert: Alert, url: str, secret: str | None = None) -> None:
    body = json.dumps({"text": alert.text, **asdict(alert)})
    headers = {"content-type": "application/json"}
    if secret:
        moment = datetime.now(UTC)
        headers |= {
            "webhook-id": alert.run_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(secret).sign(alert.run_id, moment, body),
        }
    response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()


def deliver(alert: Alert, url: str | None) -> str:
    """Post the alert if a webhook is configured; the outcome, never raising."""
    if not url:
        return "no webhook"
    try:
        post_alert(alert, url, os.environ.get("CDP_ALERT_WEBHOOK_SECRET") or None)
    except requests.RequestException as exc:
        status = getattr(exc.response, "status_code", None)
        return f"failed: {status or type(exc).__name__}"
    return "posted"
