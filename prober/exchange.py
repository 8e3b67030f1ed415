"""One HTTP exchange of a probe, the same for every protocol.

`send` opens a streamed request and records on the attempt what the transport saw: bytes
sent and received (headers estimated from their text), the status, rate-limit headroom and
`retry-after`. `check_status` turns a non-2xx status into its error type with the provider's
own message, and `json_object` parses a body or event that must be a JSON object.
`fetch_json` and `read_stream` are the two shapes every probe has: one JSON answer, or a
stream read event by event.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from llmhealth_config import product
from prober.attempt import Attempt, redact
from prober.body import REQUEST_HEADERS, iter_bounded, read_body
from prober.context import ProbeContext
from prober.outcome import ProbeFailure, classify_status
from prober.ratelimit import parse_rate_limits, parse_retry_after

PROVIDER_MESSAGE_LIMIT = 200
ERROR_BODY_LIMIT = 16 * 1024
USER_AGENT = f"llmhealth-prober/{product.__version__}"


@asynccontextmanager
async def send(
    client: httpx.AsyncClient,
    attempt: Attempt,
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    payload: object = None,
    params: Mapping[str, str] | None = None,
) -> AsyncIterator[httpx.Response]:
    """Stream `method url` (with `payload` as a JSON body when given) and yield the response
    once its headers arrived; the body is the caller's to read (through `prober.body`)."""
    content = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    all_headers = {**REQUEST_HEADERS, "User-Agent": USER_AGENT, **(headers or {})}
    if content is not None:
        all_headers["Content-Type"] = "application/json"
    attempt.bytes_sent += len(content or b"") + len(method) + len(url) + _header_bytes(all_headers)
    async with client.stream(
        method, url, content=content, headers=all_headers, params=params, timeout=timeout
    ) as response:
        now = datetime.now(UTC)
        attempt.http_status = response.status_code
        attempt.bytes_received += _header_bytes(response.headers)
        attempt.rate_limits = parse_rate_limits(response.headers, now)
        attempt.retry_after_s = parse_retry_after(response.headers, now)
        yield response


Request = AbstractAsyncContextManager[httpx.Response]
T = TypeVar("T")


async def fetch_json(
    ctx: ProbeContext, attempt: Attempt, request: Request
) -> dict[str, object] | tuple[str, str]:
    """Open `request` (from `send`); the (error type, detail) its status means, or its body
    (at most `ctx.max_body_bytes`) as a JSON object."""
    async with request as response:
        failure = await check_status(response, attempt, ctx.api_key)
        if failure:
            return failure
        body = await read_body(response, ctx.max_body_bytes, attempt)
    return json_object(body, "body")


async def read_stream(
    ctx: ProbeContext,
    attempt: Attempt,
    request: Request,
    decode: Callable[[AsyncIterator[bytes]], AsyncIterator[T]],
    apply: Callable[[T], bool],
) -> tuple[str, str] | None:
    """Open `request`; the (error type, detail) its status means, or None once the stream is
    read: its body (at most `ctx.max_body_bytes`) is framed by `decode` (SSE, NDJSON) and each
    event handed to `apply` until it returns True or the body ends. The attempt is marked as
    streaming and not yet clean; `apply` marks the clean end. A connection broken after the
    clean end is not an error."""
    async with request as response:
        failure = await check_status(response, attempt, ctx.api_key)
        if failure:
            return failure
        attempt.streaming_started = True
        attempt.stream_clean = False
        async with (
            contextlib.aclosing(iter_bounded(response, ctx.max_body_bytes, attempt)) as chunks,
            contextlib.aclosing(decode(chunks)) as events,
        ):
            try:
                async for event in events:
                    if apply(event):
                        break
            except (httpx.RemoteProtocolError, httpx.ReadError):
                if not attempt.stream_clean:
                    raise
    return None


async def check_status(
    response: httpx.Response, attempt: Attempt, secret: str | None
) -> tuple[str, str] | None:
    """The failure an HTTP status means, with the provider's error message when the body is
    small JSON; None for a 2xx."""
    code = response.status_code
    error_type = classify_status(code)
    if error_type is None:
        if 200 <= code < 300:
            return None
        return "invalid_response", f"unexpected HTTP {code}"
    attempt.status_failure = (error_type, f"HTTP {code}")
    message = await provider_message(response, attempt, secret)
    return error_type, f"HTTP {code}: {message}" if message else f"HTTP {code}"


async def provider_message(response: httpx.Response, attempt: Attempt, secret: str | None) -> str:
    """The `error.message` (or `error`, `message`, `detail`) of a small JSON error body,
    redacted and truncated; "" when there is none. The whole body is kept as
    `attempt.error_body` (`prober.rejection` reads it)."""
    try:
        document = json_object(await read_body(response, ERROR_BODY_LIMIT, attempt), "error body")
    except (ProbeFailure, httpx.TransportError):
        return ""
    attempt.error_body = document
    error = document.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    message = next(
        (m for m in (error, document.get("message"), document.get("detail")) if isinstance(m, str)),
        "",
    )
    return redact(" ".join(message.split()), secret)[:PROVIDER_MESSAGE_LIMIT]


def json_object(raw: bytes | str, what: str) -> dict[str, object]:
    """`raw` parsed as a JSON object; `ProbeFailure(invalid_response)` naming `what` otherwise."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProbeFailure("invalid_response", f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ProbeFailure("invalid_response", f"{what} is not a JSON object")
    return value


def is_count(value: object) -> bool:
    """A non-negative int that is not a bool (token counts in usage objects)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _header_bytes(headers: Mapping[str, str]) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.items())
