"""Pull CRM contacts from a HubSpot-shaped REST API instead of export files.

`GET /crm/v3/objects/contacts?limit=&after=&properties=` pages through the
contacts; the client keeps those last modified inside a window and maps
their properties onto the `crm_contacts` landing columns, so they load
through the same typing and quarantine as the files do.

Retries are urllib3's: 429 and 5xx are retried with exponential backoff and
jitter, honouring `Retry-After`; connection errors and timeouts likewise.
The access token is sent in a header and never appears in errors or logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cdp_platform.source_contracts import CRM_CONTACTS

CONTACTS_PATH = "/crm/v3/objects/contacts"

# HubSpot contact property -> landing column of crm_contacts.
PROPERTY_COLUMNS: dict[str, str] = {
    "hs_object_id": "Record ID",
    "firstname": "First Name",
    "lastname": "Last Name",
    "email": "Email",
    "phone": "Phone Number",
    "address": "Street Address",
    "city": "City",
    "zip": "Postal Code",
    "country": "Country/Region",
    "date_of_birth": "Date of Birth",
    "company": "Company Name",
    "associatedcompanyid": "Associated Company ID",
    "jobtitle": "Job Title",
    "lifecyclestage": "Lifecycle Stage",
    "hs_email_optout": "Email Subscription Status",
    "createdate": "Create Date",
    "lastmodifieddate": "Last Modified Date",
}

RETRY_STATUSES = (429, 500, 502, 503, 504)


class HubSpotApiError(Exception):
    """The API could not be read; the message names the path and status only."""


@dataclass
class ContactsPull:
    rows: list[dict[str, str | None]] = field(default_factory=list)
    cursor: datetime | None = None  # the latest last-modified time seen
    pages: int = 0
    requests: int = 0
    retries: int = 0
    skipped_outside_window: int = 0


def contact_to_row(contact: dict) -> dict[str, str | None]:
    """One API contact as a `crm_contacts` landing row."""
    properties = contact.get("properties") or {}
    row: dict[str, str | None] = dict.fromkeys(CRM_CONTACTS.headers)
    for prop, column in PROPERTY_COLUMNS.items():
        value = properties.get(prop)
        row[column] = None if value is None else str(value)
    row["Record ID"] = row["Record ID"] or str(contact.get("id") or "") or None
    row["Last Modified Date"] = row["Last Modified Date"] or contact.get("updatedAt")
    row["Create Date"] = row["Create Date"] or contact.get("createdAt")
    optout = (properties.get("hs_email_optout") or "").strip().lower()
    row["Email Subscription Status"] = {"true": "unsubscribed", "false": "subscribed"}.get(optout)
    return row


def _modified_at(row: dict[str, str | None]) -> datetime | None:
    value = row.get("Last Modified Date")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


class HubSpotContactsClient:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        page_size: int = 100,
        timeout_seconds: float = 30.0,
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        backoff_max: float = 60.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = (min(10.0, timeout_seconds), timeout_seconds)
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        )
        retry = Retry(
            total=max_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            backoff_jitter=backoff_factor / 2,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session.mount(self.base_url, HTTPAdapter(max_retries=retry))

    def pages(self, stats: ContactsPull) -> Iterator[list[dict]]:
        after: str | None = None
        properties = ",".join(PROPERTY_COLUMNS)
        while True:
            params = {"limit": self.page_size, "properties": properties}
            if after:
                params["after"] = after
            body = self._get(CONTACTS_PATH, params, stats)
            stats.pages += 1
            yield body["results"]
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _get(self, path: str, params: dict, stats: ContactsPull) -> dict:
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise HubSpotApiError(
                f"GET {path} failed after retries: {type(exc).__name__}"
            ) from None
        stats.requests += 1
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        stats.retries += len(history)
        stats.requests += len(history)
        if response.status_code != 200:
            category = _error_category(response)
            raise HubSpotApiError(
                f"GET {path} answered HTTP {response.status_code}{category}"
                + (f" after {len(history)} retries" if history else "")
            )
        try:
            body = response.json()
        except ValueError:
            raise HubSpotApiError(f"GET {path} returned a body that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise HubSpotApiError(f"GET {path} returned JSON without a 'results' list")
        return body

    def fetch_contacts(
        self, modified_after: datetime | None = None, modified_before: datetime | None = None
    ) -> ContactsPull:
        """Contacts last modified in (modified_after, modified_before], as landing rows."""
        pull = ContactsPull()
        for page in self.pages(pull):
            for contact in page:
                row = contact_to_row(contact)
                modified = _modified_at(row)
                if modified is not None:
                    if pull.cursor is None or modified > pull.cursor:
                        pull.cursor = modified
                    outside = (modified_after is not None and modified <= modified_after) or (
                        modified_before is not None and modified > modified_before
                    )
                    if outside:
                        pull.skipped_outside_window += 1
                        continue
                # A contact without a readable time is kept: typing quarantines it.
                pull.rows.append(row)
        return pull


def _error_category(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        label = body.get("category") or body.get("errorType") or body.get("policyName")
        return f" ({label})" if label else ""
    return ""


class HubSpotContactsResource(dg.ConfigurableResource):
    """Connection settings of the HubSpot-shaped contacts API."""

    base_url: str
    # The name of the variable holding the private-app token, read when contacts are
    # pulled: unset, only crm_contacts fails (naming it), never the whole run's config.
    access_token_env: str = "HUBSPOT_ACCESS_TOKEN"
    page_size: int = 100
    timeout_seconds: float = 30.0
    max_retries: int = 5
    backoff_factor: float = 0.5

    def fetch_contacts(
        self, modified_after: datetime | None = None, modified_before: datetime | None = None
    ) -> ContactsPull:
        token = os.environ.get(self.access_token_env)
        if not token:
            raise dg.Failure(
                description=f"crm_contacts from the API needs environment variable "
                f"{self.access_token_env}, which is not set",
                metadata={"missing_environment_variable": self.access_token_env},
                allow_retries=False,
            )
        client = HubSpotContactsClient(
            self.base_url,
            token,
            page_size=self.page_size,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_factor=self.backoff_factor,
        )
        return client.fetch_contacts(modified_after, modified_before)
