"""Local destination servers on real sockets, with faults injected on demand.

`FaultyServer` answers request number N (1-based) with a planned fault:
`429` (with `Retry-After`), `500`, `503`, `slow` (past the client's timeout),
`drop` (the connection closed without an answer) or `400`; every other
request goes to the vendor handler. Handlers keep what the destination holds,
so a test can check it holds exactly the expected records, none twice.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field

from standardwebhooks import Webhook
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class FaultyServer:
    faults: dict[int, str] = field(default_factory=dict)
    retry_after: str = "1"
    slow_seconds: float = 2.0
    requests: list[tuple[float, str]] = field(default_factory=list)  # (time, outcome)

    def __post_init__(self):
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._server.shutdown()

    def _app(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            number = len(self.requests) + 1
            fault = self.faults.get(number)
            self.requests.append((time.monotonic(), fault or "ok"))
        if fault == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            return Response(status=500)(environ, start_response)
        if fault == "slow":
            time.sleep(self.slow_seconds)
        elif fault == "429":
            body = json.dumps({"status": "error", "message": "rate limited"})
            response = Response(body, 429, headers={"Retry-After": self.retry_after})
            return response(environ, start_response)
        elif fault in ("500", "503", "400"):
            return Response("fault", int(fault))(environ, start_response)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class WebhookServer(FaultyServer):
    """A receiver that verifies signatures and drops redeliveries by `webhook-id`."""

    secret: str = SECRET
    holds: dict[str, dict] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)  # webhook-id -> times received
    received: list[str] = field(default_factory=list)  # every record key accepted, in order
    events: list[tuple[str, str]] = field(default_factory=list)  # (type, key) applied
    gone: bool = False

    def handle(self, request: Request) -> Response:
        if self.gone:
            return Response("gone", 410)
        body = request.get_data(as_text=True)
        Webhook(self.secret).verify(body, dict(request.headers))  # raises on a bad signature
        message_id = request.headers["webhook-id"]
        payload = json.loads(body)
        with self.lock:
            self.deliveries[message_id] = self.deliveries.get(message_id, 0) + 1
            if self.deliveries[message_id] == 1:  # a redelivery changes nothing
                for record in payload["data"]["records"]:
                    self.received.append(record["key"])
                    self.events.append((payload["type"], record["key"]))
                    if payload["type"] in ("profile.deleted", "subject.deleted", "audience.exited"):
                        self.holds.pop(record["key"], None)
                    else:
                        self.holds[record["key"]] = record.get("fields", {})
        return Response(status=204)


HUBSPOT_TOKEN = "pat-na1-test-token-000000"


@dataclass
class HubSpotContactsServer(FaultyServer):
    """Contacts batch upsert, read and archive as HubSpot answers them.

    Upsert (`idProperty: email`): an input whose email has no `@` fails alone
    (207, `errors[].context.ids`); a property value `INVALID` makes HubSpot
    refuse the whole batch (400). Each result carries the contact's `id` and
    echoes only the properties the input set (plus `hs_object_id`), so the email
    is echoed only when it was set as a property (`echo_id_property` echoes the
    id property too); results come back in no particular order (here reversed).
    Read (`idProperty`, `inputs: [{id}]`, `properties`): found contacts with `id`
    and the properties asked for; ids it does not hold are listed in a 207's
    `errors` as `OBJECT_NOT_FOUND` or, with `omit_missing`, just left out (200).
    Archive: 204, whatever the ids. Emails are kept in lower case, as HubSpot
    does. `daily_limit` answers every request 429 with `policyName: DAILY`."""

    token: str = HUBSPOT_TOKEN
    contacts: dict[str, dict] = field(default_factory=dict)  # email -> {id, properties}
    archived: list[str] = field(default_factory=list)
    upserts: int = 0  # inputs applied
    reads: list[str] = field(default_factory=list)  # id property values looked up
    daily_limit: bool = False
    echo_id_property: bool = False
    omit_missing: bool = False
    _next_id: int = 1000

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(
                json.dumps({"status": "error", "category": "INVALID_AUTHENTICATION"}), 401
            )
        if self.daily_limit:
            body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY"}
            return Response(json.dumps(body), 429, content_type="application/json")
        payload = request.get_json()
        inputs = payload["inputs"]
        if request.path.endswith("/batch/archive"):
            with self.lock:
                for item in inputs:
                    email = next(
                        (e for e, c in self.contacts.items() if c["id"] == item["id"]), None
                    )
                    if email:
                        self.archived.append(email)
                        del self.contacts[email]
            return Response(status=204)
        if request.path.endswith("/batch/read"):
            return self._read(payload)
        if any(item.get("idProperty") != "email" for item in inputs):
            body = {"status": "error", "category": "VALIDATION_ERROR", "message": "idProperty"}
            return Response(json.dumps(body), 400, content_type="application/json")
        if any("INVALID" in item["properties"].values() for item in inputs):
            body = {"status": "error", "category": "VALIDATION_ERROR", "message": "bad value"}
            return Response(json.dumps(body), 400, content_type="application/json")
        results, errors = [], []
        with self.lock:
            for item in inputs:
                email = item["id"].strip().lower()
                if "@" not in email:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": "Email address is invalid",
                            "context": {"ids": [item["id"]]},
                        }
                    )
                    continue
                if email not in self.contacts:
                    self.contacts[email] = {"id": str(self._next_id), "properties": {}}
                    self._next_id += 1
                contact = self.contacts[email]
                contact["properties"].update(item["properties"], email=email)
                self.upserts += 1
                echoed = {**item["properties"], "hs_object_id": contact["id"]}
                if self.echo_id_property:
                    echoed["email"] = email
                results.append({"id": contact["id"], "properties": echoed, "archived": False})
        body = {"status": "COMPLETE", "results": results[::-1]}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return Response(json.dumps(body), 207 if errors else 200, content_type="application/json")

    def _read(self, payload: dict) -> Response:
        if payload.get("idProperty") != "email":
            body = {"status": "error", "category": "VALIDATION_ERROR", "message": "idProperty"}
            return Response(json.dumps(body), 400, content_type="application/json")
        asked = payload.get("properties") or []
        results, missing = [], []
        with self.lock:
            for item in payload["inputs"]:
                self.reads.append(item["id"])
                contact = self.contacts.get(item["id"].strip().lower())
                if contact is None:
                    missing.append(item["id"])
                    continue
                properties = {k: v for k, v in contact["properties"].items() if k in asked}
                properties["hs_object_id"] = contact["id"]
                results.append({"id": contact["id"], "properties": properties, "archived": False})
        body: dict = {"status": "COMPLETE", "results": results[::-1]}
        if missing and not self.omit_missing:
            body.update(
                numErrors=1,
                errors=[
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some CONTACT objects, they may be deleted "
                        "or not exist. Check that ids are valid.",
                        "context": {"ids": missing},
                    }
                ],
            )
            return Response(json.dumps(body), 207, content_type="application/json")
        return Response(json.dumps(body), 200, content_type="application/json")


BRAZE_KEY = "braze-rest-key-000000"


@dataclass
class BrazeServer(FaultyServer):
    """`/users/track` and `/users/delete`: an attribute object whose `tier` is `INVALID`
    is refused alone (201 with `errors`), as Braze does for a bad item."""

    api_key: str = BRAZE_KEY
    users: dict[str, dict] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)  # (external_id, name)

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response(json.dumps({"message": "Invalid API key"}), 401)
        body = request.get_json()
        if request.path == "/users/delete":
            with self.lock:
                for external_id in body["external_ids"]:
                    self.users.pop(external_id, None)
            return Response(json.dumps({"deleted": len(body["external_ids"])}), 201)
        if len(body.get("attributes", [])) > 75 or len(body.get("events", [])) > 75:
            return Response(json.dumps({"message": "Too many items"}), 400)
        errors = []
        with self.lock:
            for index, item in enumerate(body.get("attributes", [])):
                if item.get("tier") == "INVALID":
                    errors.append(
                        {"type": "'tier' is not valid", "input_array": "attributes", "index": index}
                    )
                    continue
                self.users.setdefault(item["external_id"], {}).update(item)
            for item in body.get("events", []):
                self.events.append((item["external_id"], item["name"]))
        answer = {"message": "success", **({"errors": errors} if errors else {})}
        return Response(json.dumps(answer), 201, content_type="application/json")


META_TOKEN = "EAAB-test-token-000000"


@dataclass
class MetaAudienceServer(FaultyServer):
    """`POST`/`DELETE /{audience_id}/users` with hashed rows, as the Graph API takes them."""

    token: str = META_TOKEN
    members: set[tuple[str, ...]] = field(default_factory=set)
    rows_received: int = 0

    def handle(self, request: Request) -> Response:
        if request.args.get("access_token") != self.token:
            return Response(json.dumps({"error": {"code": 190}}), 401)
        payload = request.get_json()["payload"]
        if payload["schema"] != ["EMAIL_SHA256", "PHONE_SHA256"] or len(payload["data"]) > 10_000:
            return Response(json.dumps({"error": {"code": 100}}), 400)
        hexes = [v for row in payload["data"] for v in row if v]
        if not all(len(v) == 64 and int(v, 16) >= 0 for v in hexes):
            return Response(json.dumps({"error": {"code": 100, "message": "not hashed"}}), 400)
        with self.lock:
            for row in payload["data"]:
                if request.method == "DELETE":
                    self.members.discard(tuple(row))
                else:
                    self.members.add(tuple(row))
            self.rows_received += len(payload["data"])
        answer = {
            "audience_id": request.path.split("/")[1],
            "session_id": "1",
            "num_received": len(payload["data"]),
            "num_invalid_entries": 0,
        }
        return Response(json.dumps(answer), 200, content_type="application/json")


@dataclass
class AlertReceiver(FaultyServer):
    """A chat-style incoming webhook: keeps each alert, verifying its signature."""

    secret: str = SECRET
    alerts: list[dict] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        Webhook(self.secret).verify(body, dict(request.headers))
        with self.lock:
            self.alerts.append(json.loads(body))
        return Response(status=200)


@dataclass
class AppliedThenSlowWebhookServer(WebhookServer):
    """A receiver that applies request N of `slow_after_applying` at once and answers
    it only after `slow_seconds`: the work is done, only the answer is late."""

    slow_after_applying: set[int] = field(default_factory=set)

    def _app(self, environ, start_response):
        with self.lock:
            number = len(self.requests) + 1
            late = number in self.slow_after_applying
            if late:
                self.requests.append((time.monotonic(), "applied, then slow"))
        if not late:
            return super()._app(environ, start_response)
        response = self.handle(Request(environ))
        time.sleep(self.slow_seconds)
        return response(environ, start_response)
