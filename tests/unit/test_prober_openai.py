"""The OpenAI-compatible probes against real local HTTP servers.

Each server is a raw HTTP/1.1 responder on 127.0.0.1 with an ephemeral port, so every byte
(and every missing byte) is under the test's control.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc

import httpx
import pytest

from llmhealth_config.target import Target
from prober.context import ProbeContext
from prober.openai import PROBES
from prober.outcome import ERROR_TYPES, ProbeResult
from tests.unit.raw_http import FakeServer, Script, headers_of, huge_body, silent

TIMEOUT = 1.0
MAX_BODY = 1_048_576
SECRET = "sk-test-SECRET123"

# Fixture shapes. Chat completion object:
# https://platform.openai.com/docs/api-reference/chat/object
COMPLETION = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1677652288,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Pong"},
            "logprobs": None,
            "finish_reason": "length",
        }
    ],
    "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
}


# Streamed chunk object: https://platform.openai.com/docs/api-reference/chat-streaming/streaming
def chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"role": "assistant", "content": ""} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return json.dumps(body).encode()


# The final chunk of `stream_options.include_usage`: no choices, usage set.
USAGE_CHUNK = json.dumps(
    {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12},
    }
).encode()


# Error object: https://platform.openai.com/docs/guides/error-codes/api-errors
def error_body(message: str, kind: str = "server_error") -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}
    ).encode()


def respond(status: int, body: bytes, content_type: str = "application/json") -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        await server.send(writer, head.encode() + body)

    return script


def sse(
    events: list[bytes], *, gap: float = 0.0, first_gap: float = 0.0, terminate: bool = True
) -> Script:
    """A chunked text/event-stream, one event per chunk; without `terminate` the connection
    is cut mid-body (no last chunk)."""

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(
            writer,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        for index, event in enumerate(events):
            await asyncio.sleep(first_gap if index == 1 else gap)
            frame = b"data: " + event + b"\n\n"
            await server.send(writer, b"%x\r\n%s\r\n" % (len(frame), frame))
        if terminate:
            await server.send(writer, b"0\r\n\r\n")

    return script


def endless_stream() -> Script:
    """Content chunks every 0.1 s forever: bytes keep flowing, the answer never completes."""

    async def script(server: FakeServer, reader, writer) -> None:
        await sse([chunk()], terminate=False)(server, reader, writer)
        while True:
            await asyncio.sleep(0.1)
            frame = b"data: " + chunk("x") + b"\n\n"
            await server.send(writer, b"%x\r\n%s\r\n" % (len(frame), frame))

    return script



def error_then_stall() -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, b"HTTP/1.1 500 X\r\nContent-Length: 100\r\n\r\n{")
        await asyncio.Event().wait()

    return script



def target(base_url: str) -> Target:
    return Target(name="t1", base_url=base_url, model="gpt-4o-mini")


async def run_probe(kind: str, base_url: str, *, api_key: str | None = SECRET) -> ProbeResult:
    async with httpx.AsyncClient(http2=True, follow_redirects=False) as client:
        ctx = ProbeContext(client, target(base_url), api_key=api_key, timeout=TIMEOUT,
                           max_body_bytes=MAX_BODY, stream_max_tokens=8)
        return await PROBES[kind](ctx)


async def probe_against(script: Script, kind: str) -> tuple[ProbeResult, FakeServer]:
    async with FakeServer(script) as server:
        result = await run_probe(kind, f"http://127.0.0.1:{server.port}/v1")
    return result, server


def ok_stream() -> Script:
    contents = [chunk("Po"), chunk("ng"), chunk("!"), chunk(".")]
    return sse(
        [chunk(), *contents, chunk(finish="length"), USAGE_CHUNK, b"[DONE]"],
        first_gap=0.2,
        gap=0.05,
    )


C, S = "completion", "stream"
OK_BODY = json.dumps(COMPLETION).encode()
HUGE = 50_000_000
INVALID, EMPTY, INTERRUPTED = "invalid_response", "empty_response", "stream_interrupted"

CASES = [
    # id, kind, script, outcome, http status
    ("completion-ok", C, respond(200, OK_BODY), "ok", 200),
    ("stream-ok", S, ok_stream(), "ok", 200),
    ("http-500", C, respond(500, error_body("The server is overloaded")), "http_5xx", 500),
    ("http-429", S, respond(429, error_body("Rate limit reached", "requests")), "http_429", 429),
    ("http-401", C, respond(401, error_body("Invalid key", "invalid_request_error")), "auth", 401),
    ("http-403", S, respond(403, b"forbidden", "text/plain"), "auth", 403),
    ("http-404", C, respond(404, error_body("model not found")), "http_4xx", 404),
    ("http-301", C, respond(301, b""), INVALID, 301),
    ("http-500-body-stalls", C, error_then_stall(), "http_5xx", 500),
    ("completion-not-json", C, respond(200, b"<html>oops</html>"), INVALID, 200),
    ("completion-json-array", C, respond(200, b"[1, 2]"), INVALID, 200),
    ("completion-bad-choices", C, respond(200, b'{"choices": [1]}'), INVALID, 200),
    ("completion-empty-choices", C, respond(200, b'{"choices": []}'), EMPTY, 200),
    ("completion-no-message", C, respond(200, b'{"choices": [{"index": 0}]}'), EMPTY, 200),
    ("stream-no-done-then-close", S, sse([chunk(), chunk("Po"), chunk("ng")]), INTERRUPTED, 200),
    ("stream-cut-mid-body", S, sse([chunk(), chunk("Po")], terminate=False), INTERRUPTED, 200),
    (
        "stream-finish-then-cut",
        S,
        sse([chunk("a"), chunk(finish="stop")], terminate=False),
        "ok",
        200,
    ),
    ("stream-invalid-json-event", S, sse([chunk(), b"{not json"]), INVALID, 200),
    ("stream-not-sse", S, respond(200, OK_BODY), INVALID, 200),
    ("stream-no-content", S, sse([chunk(), chunk(finish="stop"), b"[DONE]"]), EMPTY, 200),
    ("stream-never-ends", S, endless_stream(), "timeout", 200),
    ("no-answer-completion", C, silent(), "timeout", None),
    ("no-answer-stream", S, silent(), "timeout", None),
]


@pytest.mark.parametrize(
    ("kind", "script", "outcome", "status"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_probe_outcome(kind: str, script: Script, outcome: str, status: int | None) -> None:
    result, _ = asyncio.run(probe_against(script, kind))
    assert (result.outcome, result.http_status) == (outcome, status), result.detail
    assert result.outcome == "ok" or result.outcome in ERROR_TYPES
    assert result.duration_s < TIMEOUT + 0.5
    assert SECRET not in result.detail
    if outcome != "ok":
        assert result.detail
    if outcome == "timeout":
        assert result.duration_s >= TIMEOUT - 0.05


def test_completion_ok_records_usage() -> None:
    result, server = asyncio.run(
        probe_against(respond(200, json.dumps(COMPLETION).encode()), "completion")
    )
    assert (result.input_tokens, result.output_tokens) == (8, 1)
    assert (result.ttft_s, result.output_tokens_per_s, result.stream_clean) == (None, None, None)
    head, body = server.requests[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert headers_of(head)["authorization"] == f"Bearer {SECRET}"
    assert headers_of(head)["accept-encoding"] == "identity"
    assert json.loads(body) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
        "temperature": 0,
    }


def test_stream_ok_measures_ttft_and_rate() -> None:
    result, server = asyncio.run(probe_against(ok_stream(), "stream"))
    assert result.outcome == "ok" and result.stream_clean is True
    assert result.chunks == 4
    # First content after the 0.2 s gap, then three more 0.05 s apart: 3 / 0.15 s = 20/s.
    assert 0.2 <= result.ttft_s < 0.5
    assert 10 < result.output_tokens_per_s < 30
    assert (result.input_tokens, result.output_tokens) == (8, 4)
    payload = json.loads(server.requests[0][1])
    assert payload["stream"] is True
    assert payload["stream_options"] == {"include_usage": True}
    assert payload["max_tokens"] == 8


def test_interrupted_stream_keeps_ttft_but_no_rate() -> None:
    result, _ = asyncio.run(probe_against(sse([chunk("a"), chunk("b")], terminate=False), "stream"))
    assert result.outcome == "stream_interrupted" and result.stream_clean is False
    assert result.ttft_s is not None and result.chunks == 2
    assert result.output_tokens_per_s is None


def test_no_authorization_without_key() -> None:
    async def scenario() -> FakeServer:
        async with FakeServer(respond(200, json.dumps(COMPLETION).encode())) as server:
            await run_probe("completion", f"http://127.0.0.1:{server.port}/v1/", api_key=None)
        return server

    server = asyncio.run(scenario())
    head = server.requests[0][0]
    assert head.startswith(b"POST /v1/chat/completions ")
    assert "authorization" not in headers_of(head)


@pytest.mark.parametrize(
    ("kind", "declared"),
    [
        pytest.param(C, False, id="completion-streamed"),
        pytest.param(C, True, id="completion-content-length"),
        pytest.param(S, False, id="stream"),
    ],
)
def test_huge_body_is_not_read(kind: str, declared: bool) -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result, server = asyncio.run(probe_against(huge_body(HUGE, declared=declared), kind))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == "invalid_response"
    assert result.detail == f"body larger than {MAX_BODY} bytes"
    assert server.bytes_sent < 25_000_000
    assert peak < 4_000_000
    assert time.perf_counter() - started < TIMEOUT


def test_provider_message_is_truncated_and_redacted() -> None:
    message = "x" * 190 + " Incorrect API key provided: " + SECRET
    result, _ = asyncio.run(probe_against(respond(401, error_body(message)), "completion"))
    assert result.outcome == "auth"
    assert result.detail.startswith("HTTP 401: xxx")
    assert len(result.detail) <= len("HTTP 401: ") + 200
    assert "SECRET" not in result.detail and "sk-test" not in result.detail
