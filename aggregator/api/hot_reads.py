"""The reads a router, a dashboard or a status page asks many times a second,
`GET /api/health/summary`, `/api/health/detailed` and `/api/health/route?pool=…|model=…`,
answered before the framework's routing and validation:
each answer is encoded once and its bytes are sent to every request for the same read, until
the state changes or `TTL_S` passes, whichever comes first.

The answer is the one the routes in aggregator/api/health.py and route.py give (the same
functions build it), only encoded less often: the ages in it (`freshness.age_s`, each member's
`data_age_s`), the `stale` flag and a retry-after's end are as of the encoding, at most `TTL_S`
before the request. Anything else (another query, a name that is not known, a parameter
repeated or out of bounds) goes on to the framework, which answers or refuses it as
/openapi.json says. Measured in BENCHMARKS.md, "The HTTP API under load".
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aggregator.api.health import detailed, summary
from aggregator.api.route import route_answer
from aggregator.api_state import ApiState, HealthView

TTL_S = 0.05
"""How long one encoding of an answer serves, at most."""
MAX_NAME = 256
"""The longest pool or model name the route accepts (as its query parameters say)."""
SUMMARY, DETAILED, ROUTE = "/api/health/summary", "/api/health/detailed", "/api/health/route"
HEADERS = [(b"content-type", b"application/json")]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Encoded:
    view: HealthView
    expires: float
    body: bytes
    headers: list[tuple[bytes, bytes]]


class HotReads:
    """ASGI middleware in front of `app`: serves the summary and the route from encoded bytes
    kept per read (path, and the route's query), re-encoded when the state's view is replaced or the bytes
    are `TTL_S` old. `state_of(scope)` is the ApiState the app serves."""

    def __init__(self, app: App, state_of: Callable[[Scope], ApiState]) -> None:
        self.app = app
        self.state_of = state_of
        self._encoded: dict[tuple[str, bytes], Encoded] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or scope["method"] != "GET" \
                or path not in (SUMMARY, DETAILED, ROUTE):
            return await self.app(scope, receive, send)
        key = (path, scope["query_string"] if path == ROUTE else b"")  # the others take none
        state = self.state_of(scope)
        now = time.monotonic()
        entry = self._encoded.get(key)
        if entry is None or entry.view is not state.view or now >= entry.expires:
            entry = self._encode(state, path, scope["query_string"], now)
            if entry is None:
                return await self.app(scope, receive, send)
            self._encoded[key] = entry
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        await send({"type": "http.response.body", "body": entry.body})

    def _encode(self, state: ApiState, path: str, query: bytes, now: float) -> Encoded | None:
        """The answer to the read, or None when the framework must answer it (an error, or a
        query this does not take)."""
        view = state.view
        if path in (SUMMARY, DETAILED):
            answer = summary(state, view) if path == SUMMARY else detailed(state, view)
        else:
            params = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            if len(params) != 1 or params[0][0] not in ("pool", "model") \
                    or not 0 < len(params[0][1]) <= MAX_NAME:
                return None
            name, value = params[0]
            known = view.pools if name == "pool" else view.models
            if value not in known:
                return None
            answer = route_answer(state, view, value if name == "pool" else None,
                                  value if name == "model" else None, state.clock())
        body = answer.model_dump_json().encode()
        if len(self._encoded) > 4 * (len(view.pools) + len(view.models) + 1):
            self._encoded.clear()  # reads of names since gone: keep the cache the size of the names
        return Encoded(view, now + TTL_S, body,
                       [*HEADERS, (b"content-length", str(len(body)).encode())])
