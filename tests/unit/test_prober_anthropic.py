"""The Anthropic Messages probes against real local HTTP servers.

Each server is a raw HTTP/1.1 responder on 127.0.0.1 with an ephemeral port, so every byte
(and every missing byte) is under the test's control. Fixture bodies follow Anthropic's
published shapes; each names its reference page.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from llmhealth_config.target import Target
from prober.anthropic import PROBES
from prober.context import ProbeContext
from prober.outcome import ERROR_TYPES, ProbeResult
from prober.ratelimit import RateLimit
from tests.unit.raw_http import FakeServer, Script, headers_of, huge_body, silent

TIMEOUT = 1.0
MAX_BODY = 1_048_576
SECRET = "sk-ant-api03-SECRET123"
MODEL = "claude-sonnet-4-20250514"

# The message object: https://docs.anthropic.com/en/api/messages
MESSAGE = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [{"type": "text", "text": "Pong"}],
    "stop_reason": "max_tokens",
    "stop_sequence": None,
    "usage": {"input_tokens": 8, "output_tokens": 1},
}

# The model list: https://docs.anthropic.com/en/api/models-list
MODELS = {
    "data": [
        {"type": "model", "id": MODEL, "display_name": "Claude Sonnet 4",
         "created_at": "2025-05-22T00:00:00Z"},
        {"type": "model", "id": "claude-3-5-haiku-20241022", "display_name": "Claude Haiku 3.5",
         "created_at": "2024-10-22T00:00:00Z"},
    ],
    "has_more": False,
    "first_id": MODEL,
    "last_id": "claude-3-5-haiku-20241022",
}
NO_MODELS = {"data": [], "has_more": False, "first_id": None, "last_id": None}


# Error body: https://docs.anthropic.com/en/api/errors
def error_body(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


# Stream events: https://docs.anthropic.com/en/docs/build-with-claude/streaming
def message_start(input_tokens: int = 25) -> dict:
    message = {**MESSAGE, "content": [], "stop_reason": None,
               "usage": {"input_tokens": input_tokens, "output_tokens": 1}}
    return {"type": "message_start", "message": message}


def text(delta: str) -> dict:
    return {"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": delta}}


BLOCK_START = {"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}
PING = {"type": "ping"}
BLOCK_STOP = {"type": "content_block_stop", "index": 0}
MESSAGE_DELTA = {"type": "message_delta", "delta": {"stop_reason": "max_tokens",
                                                    "stop_sequence": None},
                 "usage": {"output_tokens": 15}}
MESSAGE_STOP = {"type": "message_stop"}
OPENING = [message_start(), BLOCK_START, PING]


def error_event(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def frame(event: dict | bytes) -> bytes:
    """One SSE event; raw bytes are sent as the data of a `message_start`."""
    if isinstance(event, bytes):
        return b"event: message_start\ndata: " + event + b"\n\n"
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def respond(status: int, body: bytes, headers: str = "") -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        await server.send(writer, head.encode() + body)

    return script


def sse(
    events: list[dict | bytes], *, gap: float = 0.0, first_gap: float = 0.0,
    terminate: bool = True,
) -> Script:
    """A chunked text/event-stream, one event per chunk; `first_gap` before the fourth (the
    first text after message_start, content_block_start and ping); without `terminate` the
    connection is cut mid-body (no last chunk)."""

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(
            writer,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        for index, event in enumerate(events):
            await asyncio.sleep(first_gap if index == 3 else gap)
            data = frame(event)
            await server.send(writer, b"%x\r\n%s\r\n" % (len(data), data))
        if terminate:
            await server.send(writer, b"0\r\n\r\n")

    return script


def endless_stream() -> Script:
    """Text deltas every 0.1 s forever: bytes keep flowing, message_stop never comes."""

    async def script(server: FakeServer, reader, writer) -> None:
        await sse(OPENING, terminate=False)(server, reader, writer)
        while True:
            await asyncio.sleep(0.1)
            data = frame(text("x"))
            await server.send(writer, b"%x\r\n%s\r\n" % (len(data), data))

    return script




def target(base_url: str, **extra: object) -> Target:
    return Target(name="claude", protocol="anthropic", base_url=base_url, model=MODEL, **extra)


async def run_probe(
    kind: str, base_url: str, *, api_key: str | None = SECRET, **extra: object
) -> ProbeResult:
    async with httpx.AsyncClient(http2=True, follow_redirects=False) as client:
        ctx = ProbeContext(client, target(base_url, **extra), api_key=api_key, timeout=TIMEOUT,
                           max_body_bytes=MAX_BODY, stream_max_tokens=8)
        return await PROBES[kind](ctx)


async def probe_against(
    script: Script, kind: str, **options: object
) -> tuple[ProbeResult, FakeServer]:
    async with FakeServer(script) as server:
        result = await run_probe(kind, f"http://127.0.0.1:{server.port}", **options)
    return result, server


def ok_stream() -> Script:
    texts = [text("Po"), text("ng"), text("!"), text(".")]
    return sse([*OPENING, *texts, BLOCK_STOP, MESSAGE_DELTA, MESSAGE_STOP],
               first_gap=0.2, gap=0.05)


M, C, S = "models", "completion", "stream"
INVALID, EMPTY, INTERRUPTED = "invalid_response", "empty_response", "stream_interrupted"


def as_json(document: object) -> bytes:
    return json.dumps(document).encode()


CASES = [
    # id, kind, script, outcome, http status, detail (exact, or None to skip)
    ("completion-ok", C, respond(200, as_json(MESSAGE)), "ok", 200, ""),
    (
        "completion-no-content-but-stop-reason",
        C,
        respond(200, as_json({**MESSAGE, "content": [], "stop_reason": "end_turn"})),
        "ok", 200, "",
    ),
    (
        "completion-no-content-no-stop-reason",
        C,
        respond(200, as_json({**MESSAGE, "content": [], "stop_reason": None})),
        EMPTY, 200, "the message has no content blocks and no stop_reason",
    ),
    (
        "completion-not-a-message",
        C,
        respond(200, as_json({"object": "chat.completion", "choices": []})),
        INVALID, 200, "body is not a message object (type None)",
    ),
    (
        "completion-content-not-blocks",
        C,
        respond(200, as_json({**MESSAGE, "content": "Pong"})),
        INVALID, 200, "content is not a list of content blocks",
    ),
    ("completion-not-json", C, respond(200, b"<html>oops</html>"), INVALID, 200,
     "body is not valid JSON"),
    ("completion-json-array", C, respond(200, b"[1, 2]"), INVALID, 200,
     "body is not a JSON object"),
    ("models-ok", M, respond(200, as_json(MODELS)), "ok", 200, ""),
    (
        "models-missing-model",
        M,
        respond(200, as_json({**MODELS, "data": MODELS["data"][1:]})),
        INVALID, 200, f"model {MODEL!r} is not among the 1 models listed",
    ),
    ("models-empty", M, respond(200, as_json(NO_MODELS)), EMPTY, 200, "the model list is empty"),
    ("models-malformed", M, respond(200, as_json({"data": [MODEL]})), INVALID, 200,
     "data is not a list of model objects"),
    ("models-not-json", M, respond(200, b"{"), INVALID, 200, "body is not valid JSON"),
    (
        "stream-stop-then-cut",
        S,
        sse([*OPENING, text("a"), BLOCK_STOP, MESSAGE_DELTA, MESSAGE_STOP], terminate=False),
        "ok", 200, "",
    ),
    (
        "stream-no-message-stop-then-close",
        S,
        sse([*OPENING, text("Po"), text("ng"), BLOCK_STOP, MESSAGE_DELTA]),
        INTERRUPTED, 200, "stream ended without message_stop (7 events, 2 text deltas)",
    ),
    ("stream-cut-mid-body", S, sse([*OPENING, text("Po")], terminate=False), INTERRUPTED, 200,
     None),
    ("stream-invalid-json-event", S, sse([b"{not json", MESSAGE_STOP]), INVALID, 200,
     "event is not valid JSON"),
    ("stream-not-sse", S, respond(200, as_json(MESSAGE)), INVALID, 200,
     "no server-sent events in the body"),
    (
        "stream-no-text",
        S,
        sse([message_start(), MESSAGE_DELTA, MESSAGE_STOP]),
        EMPTY, 200, "stream ended without text (stop_reason max_tokens)",
    ),
    ("stream-never-ends", S, endless_stream(), "timeout", 200,
     "deadline exceeded (timeout 1s)"),
    ("no-answer", C, silent(), "timeout", None, "deadline exceeded (timeout 1s)"),
    (
        "http-400",
        C,
        respond(400, error_body("invalid_request_error", "max_tokens: Field required")),
        "http_4xx", 400, "HTTP 400: max_tokens: Field required",
    ),
    (
        "http-401",
        C,
        respond(401, error_body("authentication_error", "invalid x-api-key")),
        "auth", 401, "HTTP 401: invalid x-api-key",
    ),
    (
        "http-403",
        M,
        respond(403, error_body("permission_error",
                                "Your API key does not have permission to use the specified "
                                "resource.")),
        "auth", 403,
        "HTTP 403: Your API key does not have permission to use the specified resource.",
    ),
    (
        "http-404",
        S,
        respond(404, error_body("not_found_error", f"model: {MODEL}-nope")),
        "http_4xx", 404, f"HTTP 404: model: {MODEL}-nope",
    ),
    (
        "http-500",
        S,
        respond(500, error_body("api_error", "Internal server error")),
        "http_5xx", 500, "HTTP 500: Internal server error",
    ),
    (
        "http-529",
        C,
        respond(529, error_body("overloaded_error", "Overloaded")),
        "http_5xx", 529, "HTTP 529: Overloaded",
    ),
]


@pytest.mark.parametrize(
    ("kind", "script", "outcome", "status", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_probe_outcome(
    kind: str, script: Script, outcome: str, status: int | None, detail: str | None
) -> None:
    result, _ = asyncio.run(probe_against(script, kind))
    assert (result.outcome, result.http_status) == (outcome, status), result.detail
    assert result.outcome == "ok" or result.outcome in ERROR_TYPES
    assert result.duration_s < TIMEOUT + 0.5
    if detail is not None:
        assert result.detail == detail
    if outcome == "timeout":
        assert result.duration_s >= TIMEOUT - 0.05


@pytest.mark.parametrize(
    ("error_type", "outcome"),
    [
        pytest.param("rate_limit_error", "http_429", id="rate_limit_error"),
        pytest.param("overloaded_error", "http_5xx", id="overloaded_error"),
        pytest.param("api_error", "http_5xx", id="api_error"),
        pytest.param("authentication_error", "auth", id="authentication_error"),
        pytest.param("permission_error", "auth", id="permission_error"),
        pytest.param("invalid_request_error", "http_4xx", id="invalid_request_error"),
        pytest.param("not_found_error", "http_4xx", id="not_found_error"),
        pytest.param("request_too_large", "http_4xx", id="request_too_large"),
        pytest.param("billing_error", INTERRUPTED, id="unknown-type"),
    ],
)
def test_error_event_outcome(error_type: str, outcome: str) -> None:
    # An error event mid-stream (https://docs.anthropic.com/en/docs/build-with-claude/streaming,
    # "Error events"), after one text delta.
    events = [*OPENING, text("Po"), error_event(error_type, "Overloaded  now\n")]
    result, _ = asyncio.run(probe_against(sse(events), "stream"))
    assert (result.outcome, result.http_status) == (outcome, 200)
    assert result.detail == f"error event {error_type!r}: Overloaded now"
    assert (result.chunks, result.stream_clean) == (1, False)


def test_error_event_without_error_object() -> None:
    result, _ = asyncio.run(probe_against(sse([*OPENING, {"type": "error"}]), "stream"))
    assert (result.outcome, result.detail) == (INTERRUPTED, "error event None")


def test_completion_ok_records_usage_and_sends_headers() -> None:
    result, server = asyncio.run(probe_against(respond(200, as_json(MESSAGE)), "completion"))
    assert result.outcome == "ok"
    assert (result.input_tokens, result.output_tokens) == (8, 1)
    assert (result.ttft_s, result.output_tokens_per_s, result.stream_clean) == (None, None, None)
    head, body = server.requests[0]
    assert head.startswith(b"POST /v1/messages HTTP/1.1\r\n")
    headers = headers_of(head)
    assert headers["x-api-key"] == SECRET
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["accept-encoding"] == "identity"
    assert "authorization" not in headers
    assert json.loads(body) == {
        "model": MODEL,
        "max_tokens": 1,
        "temperature": 0,
        "messages": [{"role": "user", "content": "ping"}],
    }


def test_stream_ok_measures_ttft_and_rate() -> None:
    result, server = asyncio.run(probe_against(ok_stream(), "stream"))
    assert result.outcome == "ok" and result.stream_clean is True
    assert result.chunks == 4
    # First text after the 0.2 s gap, then three more 0.05 s apart: 3 / 0.15 s = 20/s.
    assert 0.2 <= result.ttft_s < 0.5
    assert 10 < result.output_tokens_per_s < 30
    # input_tokens from message_start, output_tokens (cumulative) from message_delta.
    assert (result.input_tokens, result.output_tokens) == (25, 15)
    payload = json.loads(server.requests[0][1])
    assert payload == {
        "model": MODEL,
        "max_tokens": 8,
        "temperature": 0,
        "messages": [{"role": "user", "content": "ping"}],
        "stream": True,
    }


def test_interrupted_stream_keeps_chunks_and_ttft() -> None:
    events = [*OPENING, text("Po"), text("ng"), text("!")]
    result, _ = asyncio.run(probe_against(sse(events, terminate=False), "stream"))
    assert result.outcome == INTERRUPTED and result.stream_clean is False
    assert result.ttft_s is not None and result.chunks == 3
    assert result.input_tokens == 25
    assert result.output_tokens_per_s is None


def test_models_request_and_version_override_without_key() -> None:
    result, server = asyncio.run(
        probe_against(respond(200, as_json(MODELS)), "models", api_key=None,
                      api_version="2023-01-01")
    )
    assert result.outcome == "ok"
    head = server.requests[0][0]
    assert head.startswith(b"GET /v1/models?limit=1000 HTTP/1.1\r\n")
    headers = headers_of(head)
    assert headers["anthropic-version"] == "2023-01-01"
    assert "x-api-key" not in headers and "authorization" not in headers


def test_http_429_parses_rate_limits_and_retry_after() -> None:
    # Response headers: https://docs.anthropic.com/en/api/rate-limits#response-headers
    reset = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = (
        "retry-after: 7\r\n"
        "anthropic-ratelimit-requests-limit: 50\r\n"
        "anthropic-ratelimit-requests-remaining: 0\r\n"
        f"anthropic-ratelimit-requests-reset: {reset}\r\n"
        "anthropic-ratelimit-input-tokens-limit: 40000\r\n"
        "anthropic-ratelimit-input-tokens-remaining: 39000\r\n"
    )
    body = error_body("rate_limit_error", "Number of request tokens has exceeded your rate limit")
    result, _ = asyncio.run(probe_against(respond(429, body, headers), "stream"))
    assert (result.outcome, result.http_status) == ("http_429", 429)
    assert result.retry_after_s == 7.0
    requests, input_tokens = result.rate_limits
    assert (requests.resource, requests.limit, requests.remaining) == ("requests", 50.0, 0.0)
    assert 28.0 <= requests.reset_s <= 30.0
    assert input_tokens == RateLimit("input_tokens", 40000.0, 39000.0, None)


@pytest.mark.parametrize(
    ("kind", "declared"),
    [
        pytest.param(C, False, id="completion-streamed"),
        pytest.param(C, True, id="completion-content-length"),
        pytest.param(M, True, id="models-content-length"),
        pytest.param(S, False, id="stream"),
    ],
)
def test_huge_body_is_not_read(kind: str, declared: bool) -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result, server = asyncio.run(
            probe_against(huge_body(50_000_000, declared=declared), kind)
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == "invalid_response"
    assert result.detail == f"body larger than {MAX_BODY} bytes"
    assert server.bytes_sent < 25_000_000
    assert peak < 4_000_000
    assert time.perf_counter() - started < TIMEOUT


@pytest.mark.parametrize(
    ("script", "kind", "prefix"),
    [
        pytest.param(
            respond(401, error_body("authentication_error", f"invalid x-api-key {SECRET}")),
            C, "HTTP 401: invalid x-api-key ", id="http-error-body",
        ),
        pytest.param(
            sse([*OPENING, error_event("permission_error", f"key {SECRET} is disabled")]),
            S, "error event 'permission_error': key ", id="error-event",
        ),
    ],
)
def test_api_key_never_in_detail(script: Script, kind: str, prefix: str) -> None:
    result, _ = asyncio.run(probe_against(script, kind))
    assert result.outcome == "auth"
    assert result.detail.startswith(prefix)
    assert "[redacted]" in result.detail
    assert "SECRET" not in result.detail and "sk-ant" not in result.detail


def test_error_event_message_is_truncated() -> None:
    events = [*OPENING, error_event("overloaded_error", "y" * 1000)]
    result, _ = asyncio.run(probe_against(sse(events), "stream"))
    assert result.outcome == "http_5xx"
    assert result.detail == "error event 'overloaded_error': " + "y" * 200
