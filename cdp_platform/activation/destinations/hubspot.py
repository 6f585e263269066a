"""A CRM shaped like HubSpot's contacts API (v3 batch endpoints).

- upsert / insert / update: `POST /crm/v3/objects/contacts/batch/upsert` with
  `{"inputs": [{"idProperty": "email", "id": ..., "properties": {...}}]}`, up to
  100 inputs; 200 (all done) or 207 Multi-Status, whose `errors[].context.ids`
  name the inputs that failed;
- delete / erase: `POST /crm/v3/objects/contacts/batch/archive` with HubSpot
  contact ids. The id is learned from the upsert's answer, whose `results`
  carry `id` and `properties` but come in no documented order and echo only
  the properties the request set: a result is matched to its input by the
  id property's value when HubSpot echoes it (or when the batch had one
  input), never by position. An id still unknown when the contact must go is
  looked up first, by the id property, with `POST .../batch/read`
  (`idProperty`, `inputs: [{id}]`): a contact HubSpot reports missing holds
  nothing and counts as deleted; one whose id could not be established is
  reported failed, never deleted;
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
READ = "/crm/v3/objects/contacts/batch/read"
NOT_FOUND = "OBJECT_NOT_FOUND"


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
        body = self._call(UPSERT, {"inputs": inputs}, {"idempotency-key": idempotency_key})
        keys = {self._norm(c.key): c.key for c in changes}
        failed: dict[str, str] = {}
        for error in body.get("errors", []):
            for value in error.get("context", {}).get("ids", []):
                key = keys.get(self._norm(value), value)
                failed[key] = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"[:200]
        ids = self._match(body.get("results", []), [c.key for c in changes if c.key not in failed])
        return [
            ItemResult(c.key, False, failed[c.key])
            if c.key in failed
            else ItemResult(c.key, True, destination_id=ids.get(c.key))
            for c in changes
        ]

    def confirm(self, operation: str, changes: list[Change]) -> list[ItemResult]:
        """The changes HubSpot already holds as sent: after an answer was lost (a read
        timeout, a dropped connection) the batch may have been applied, and a batch
        upsert carries no idempotency key HubSpot honours, so read before re-sending."""
        if operation in ("delete", "erase") or not changes:
            return []  # archiving again is harmless: HubSpot answers 204 either way
        fields = {name for c in changes for name in c.fields} | {self.id_property}
        body = self._read([c.key for c in changes], fields)
        held = {
            self._norm((r.get("properties") or {}).get(self.id_property)): r
            for r in body.get("results", [])
            if (r.get("properties") or {}).get(self.id_property) is not None
        }
        confirmed = []
        for change in changes:
            found = held.get(self._norm(change.key))
            if found is None:
                continue
            properties = found.get("properties") or {}
            same = all(
                (properties.get(name) or "") == value
                for name, value in _properties(change.fields).items()
                if name != self.id_property
            )
            if same:
                confirmed.append(ItemResult(change.key, True, destination_id=str(found["id"])))
        return confirmed

    def _norm(self, value) -> str:
        # HubSpot keeps emails in lower case; other unique properties as given.
        text = str(value)
        return text.strip().lower() if self.id_property == "email" else text

    def _match(self, results: list[dict], keys: list[str]) -> dict[str, str]:
        """HubSpot ids of `keys`, from results matched by the id property's value.

        HubSpot does not document the order of batch results, so position is not
        used; a lone input with a lone result is the one exception (nothing to
        confuse it with). Keys not matched stay unknown until a delete needs them."""
        wanted = {self._norm(k): k for k in keys}
        found: dict[str, str] = {}
        for result in results:
            value = (result.get("properties") or {}).get(self.id_property)
            key = wanted.get(self._norm(value)) if value is not None else None
            if key is not None and result.get("id"):
                found[key] = str(result["id"])
        if not found and len(keys) == 1 and len(results) == 1 and results[0].get("id"):
            found[keys[0]] = str(results[0]["id"])
        return found

    def _call(self, path: str, payload: dict, headers: dict | None = None) -> dict:
        """One POST to the API; its JSON answer (empty for a 204)."""
        response = post(
            self._session,
            "POST",
            self.base_url + path,
            self.limits.timeout_seconds,
            inspect=raise_for_daily_limit,
            json=payload,
            headers=headers,
        )
        return response.json() if response.content else {}

    def _read(self, keys: list[str], properties: set[str]) -> dict:
        """Contacts by the id property, with `properties` (batch read)."""
        payload = {
            "idProperty": self.id_property,
            "inputs": [{"id": k} for k in keys],
            "properties": sorted(properties),
        }
        return self._call(READ, payload)

    def _resolve(self, keys: list[str]) -> tuple[dict[str, str], set[str], dict[str, str]]:
        """Look contacts up by the id property: `(ids, absent, unresolved)`.

        `absent` are keys HubSpot says it does not hold (listed as not found, or
        left out of an answer whose every result was accounted for); `unresolved`
        maps keys whose id could not be established to why."""
        body = self._read(keys, {self.id_property})
        results = body.get("results", [])
        ids = self._match(results, keys)
        wanted = {self._norm(k): k for k in keys}
        absent: set[str] = set()
        unresolved: dict[str, str] = {}
        for error in body.get("errors", []):
            for value in error.get("context", {}).get("ids", []):
                key = wanted.get(self._norm(value))
                if key is None or key in ids:
                    continue
                if error.get("category") == NOT_FOUND:
                    absent.add(key)
                else:
                    unresolved[key] = f"lookup failed: {error.get('category', 'ERROR')}"[:200]
        # Results that named no key may be any of the rest: none of those is proven absent.
        every_result_matched = len(ids) == len(results)
        for key in keys:
            if key in ids or key in absent or key in unresolved:
                continue
            if every_result_matched:
                absent.add(key)  # left out of the answer: HubSpot holds no such contact
            else:
                unresolved[key] = "contact id not established; nothing archived"
        return ids, absent, unresolved

    def _archive(self, changes: list[Change]) -> list[ItemResult]:
        ids = {c.key: c.destination_id for c in changes if c.destination_id}
        unknown = [c.key for c in changes if not c.destination_id]
        absent: set[str] = set()
        unresolved: dict[str, str] = {}
        if unknown:
            found, absent, unresolved = self._resolve(unknown)
            ids.update(found)
        if ids:
            # 204 or an error (raised): an archive is reported only once HubSpot took it.
            self._call(ARCHIVE, {"inputs": [{"id": i} for i in dict.fromkeys(ids.values())]})
        results = []
        for c in changes:
            if c.key in ids:
                results.append(ItemResult(c.key, True, destination_id=ids[c.key]))
            elif c.key in absent:
                results.append(ItemResult(c.key, True))  # HubSpot holds nothing under it
            else:
                reason = unresolved.get(c.key, "contact id not established; nothing archived")
                results.append(ItemResult(c.key, False, reason))
        return results


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
