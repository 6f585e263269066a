"""A local HubSpot-shaped contacts API on a real socket, for connector tests.

It pages like HubSpot v3 (`limit`, `after`, `paging.next.after`), checks the
bearer token, and can be told to rate-limit (429 with `Retry-After` and
HubSpot's error body) or fail (502/503) on chosen request numbers. Every
request is logged with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TOKEN = "pat-test-0123456789abcdef"


@dataclass
class LoggedRequest:
    path: str
    args: dict
    authorization: str | None
    at: float
    status: int = 0


@dataclass
class HubSpotServer:
    contacts: list[dict] = field(default_factory=list)
    token: str = TOKEN
    rate_limited: set[int] = field(default_factory=set)  # request numbers (1-based) answered 429
    failing: dict[int, int] = field(default_factory=dict)  # request number -> 5xx status
    retry_after: str = "1"
    log: list[LoggedRequest] = field(default_factory=list)

    def __post_init__(self):
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> HubSpotServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _app(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            entry = LoggedRequest(
                request.path,
                dict(request.args),
                request.headers.get("Authorization"),
                time.monotonic(),
            )
            self.log.append(entry)
            number = len(self.log)
        response = self._answer(request, number)
        entry.status = response.status_code
        return response(environ, start_response)

    def _answer(self, request: Request, number: int) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                401,
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        if number in self.rate_limited:
            return _json(
                429,
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                },
                {"Retry-After": self.retry_after},
            )
        if number in self.failing:
            return Response("upstream error", status=self.failing[number])
        if request.path != "/crm/v3/objects/contacts":
            return _json(
                404, {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
            )
        limit = min(int(request.args.get("limit", 10)), 100)
        start = int(request.args.get("after", 0))
        page = self.contacts[start : start + limit]
        body: dict = {"results": page}
        if start + limit < len(self.contacts):
            body["paging"] = {
                "next": {"after": str(start + limit), "link": f"?after={start + limit}"}
            }
        return _json(200, body)


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def contact(n: int, modified: str, **properties) -> dict:
    """A contact as the API returns it."""
    props = {
        "hs_object_id": str(n),
        "firstname": f"First{n}",
        "lastname": f"Last{n}",
        "email": f"person{n}@example.com",
        "phone": "+44 7700 900123",
        "createdate": modified,
        "lastmodifieddate": modified,
        "hs_email_optout": "false",
    }
    props.update(properties)
    return {
        "id": str(n),
        "properties": props,
        "createdAt": modified,
        "updatedAt": modified,
        "archived": False,
    }
