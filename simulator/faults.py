"""Non-stream responses for injected faults, as a client of the real API would see them."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from simulator.openai_shapes import error_body
from simulator.waiting import ConnectionCut

HTTP_FAULTS = ("http_500", "http_429", "http_401")

# Headers OpenAI sends with a 429 when the per-minute request budget is exhausted.
RATE_LIMIT_HEADERS = {
    "retry-after": "1",
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-tokens": "149984",
    "x-ratelimit-reset-tokens": "6m0s",
}

INVALID_JSON = "{not json"


def http_error(kind: str) -> JSONResponse:
    """The status, headers and OpenAI error body for `http_500`, `http_429` or `http_401`."""
    if kind == "http_429":
        body = error_body(
            "Rate limit reached for requests (simulated).", "requests", "rate_limit_exceeded"
        )
        return JSONResponse(body, status_code=429, headers=RATE_LIMIT_HEADERS)
    if kind == "http_401":
        body = error_body(
            "Incorrect API key provided (simulated).", "invalid_request_error", "invalid_api_key"
        )
        return JSONResponse(body, status_code=401)
    if kind == "http_500":
        body = error_body(
            "The server had an error while processing your request (simulated).",
            "server_error",
            None,
        )
        return JSONResponse(body, status_code=500)
    raise ValueError(f"not an HTTP fault: {kind!r}")


def unavailable() -> JSONResponse:
    """503 for a request abandoned because the server is shutting down (or the client left)."""
    body = error_body("The simulator is shutting down.", "server_error", None)
    return JSONResponse(body, status_code=503)


def invalid_json() -> Response:
    """200 labelled `application/json` whose body does not parse."""
    return Response(INVALID_JSON, media_type="application/json")


class TruncatedResponse(Response):
    """Announces the full body's content-length, sends only its first half, then drops the
    connection: the client sees a response that breaks off mid-body."""

    def __init__(self, content: dict) -> None:
        super().__init__(json.dumps(content).encode(), media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send headers and half the body, then raise `ConnectionCut`."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionCut("non-stream response cut mid-body")
