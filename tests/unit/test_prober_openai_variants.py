"""The OpenAI-compatible probes in their variants, against real local HTTP servers: the
`models` probe, Azure OpenAI deployments, reasoning-model payloads, LM Studio routing and the
transport facts (bytes, rate-limit headroom) every result carries.

Fixture bodies follow the published API shapes; each names its reference page.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from llmhealth_config.target import Target
from prober.context import ProbeContext
from prober.openai import PROBES
from prober.outcome import ProbeResult
from prober.ratelimit import RateLimit
from tests.unit.raw_http import FakeServer, Script, headers_of

TIMEOUT = 1.0
MAX_BODY = 1_048_576
SECRET = "sk-test-SECRET123"
AZURE_VERSION = "2024-10-21"
PING = [{"role": "user", "content": "ping"}]
ROOTS = {"openai": "/v1", "azure": "", "lmstudio": ""}
"""The path of each protocol's base URL: OpenAI's API root, Azure's resource root
(`https://<resource>.openai.azure.com`), LM Studio's server root."""


# --- server scripts -------------------------------------------------------------------------


def respond(status: int, document: object, headers: dict[str, str] | None = None) -> Script:
    """Answer every request with `document` as JSON and the extra `headers`."""
    body = json.dumps(document).encode()

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        await server.send(writer, head.encode() + body)

    return script


def sse(events: list[object], headers: dict[str, str] | None = None) -> Script:
    """A chunked text/event-stream: each event (a JSON document or the `[DONE]` marker) in
    one chunk, then the last chunk."""
    frames = [b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n"
              for e in events]

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        await server.send(
            writer,
            (f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{extra}"
             "Transfer-Encoding: chunked\r\n\r\n").encode(),
        )
        for frame in frames:
            await server.send(writer, b"%x\r\n%s\r\n" % (len(frame), frame))
        await server.send(writer, b"0\r\n\r\n")

    return script


def body_length(events: list[object]) -> int:
    """The bytes of the SSE body `sse(events)` sends, without the chunked framing."""
    return sum(len(b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n")
               for e in events)


# --- fixtures -------------------------------------------------------------------------------

# List models: https://platform.openai.com/docs/api-reference/models/list
def model_list(*ids: str) -> dict[str, object]:
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": 1686935002, "owned_by": "openai"}
            for model_id in ids
        ],
    }


# Error object: https://platform.openai.com/docs/guides/error-codes/api-errors (the real
# message masks the key; this one repeats it whole to prove the detail redacts it).
BAD_KEY = {
    "error": {
        "message": f"Incorrect API key provided: {SECRET}. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


# Chat completion object: https://platform.openai.com/docs/api-reference/chat/create
def completion(model: str, content: str, finish: str, reasoning_tokens: int = 0) -> dict:
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None,
                            "annotations": []},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 1,
            "total_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens,
                                          "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


# Streamed chunk (`stream: true`): https://platform.openai.com/docs/api-reference/chat/create
# and https://platform.openai.com/docs/api-reference/chat-streaming/streaming
def chunk(model: str, content: str | None = None, finish: str | None = None) -> dict:
    delta = {"role": "assistant", "content": ""} if content is None else {"content": content}
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": model,
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


# The last chunk with `stream_options.include_usage`:
# https://platform.openai.com/docs/api-reference/chat/create (stream_options)
def usage_chunk(model: str, reasoning_tokens: int = 0) -> dict:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 8, "total_tokens": 15,
                  "completion_tokens_details": {"reasoning_tokens": reasoning_tokens}},
    }


def ok_stream(model: str) -> list[object]:
    return [chunk(model), chunk(model, "Po"), chunk(model, "ng"), chunk(model, finish="stop"),
            usage_chunk(model), b"[DONE]"]


def reasoning_only_stream(model: str) -> list[object]:
    """Every token went to reasoning: no content, the budget ran out."""
    return [chunk(model), chunk(model, finish="length"), usage_chunk(model, 8), b"[DONE]"]


# Azure OpenAI chat completions response, with its content-filter annotations:
# https://learn.microsoft.com/azure/ai-foundry/openai/reference
SAFE = {name: {"filtered": False, "severity": "safe"}
        for name in ("hate", "self_harm", "sexual", "violence")}
AZURE_COMPLETION = {
    "id": "chatcmpl-7R1nGnsXO8n4oi9UPz2f3UHdgAYMn",
    "object": "chat.completion",
    "created": 1686676106,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "length",
                 "message": {"role": "assistant", "content": "Pong"},
                 "content_filter_results": SAFE}],
    "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
}
# Azure streams first a chunk with only the prompt's filter results and no choices:
# https://learn.microsoft.com/azure/ai-foundry/openai/reference
AZURE_STREAM = [
    {"choices": [], "created": 0, "id": "", "model": "", "object": "",
     "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}]},
    chunk("gpt-4o-mini", "Po"),
    chunk("gpt-4o-mini", "ng"),
    chunk("gpt-4o-mini", finish="length"),
    b"[DONE]",
]

# Rate-limit headers of a 200: https://platform.openai.com/docs/api-reference/chat/create
# (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers)
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "60000",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-requests": "59999",
    "x-ratelimit-remaining-tokens": "149984",
    "x-ratelimit-reset-requests": "1ms",
    "x-ratelimit-reset-tokens": "6m0s",
}
RATE_LIMITS = (
    RateLimit("requests", limit=60000, remaining=59999, reset_s=0.001),
    RateLimit("tokens", limit=150000, remaining=149984, reset_s=360.0),
)


# --- running a probe ------------------------------------------------------------------------


async def probe(
    script: Script, kind: str, *, api_key: str | None = SECRET, **fields: object
) -> tuple[ProbeResult, FakeServer]:
    """Run probe `kind` of a target with `fields` (protocol openai and model gpt-4o-mini
    unless given) against a server running `script`."""
    fields = {"protocol": "openai", "model": "gpt-4o-mini", **fields}
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        base_url = f"http://127.0.0.1:{server.port}{ROOTS[str(fields['protocol'])]}"
        target = Target.model_validate({"name": "t1", "base_url": base_url, **fields})
        ctx = ProbeContext(client, target, api_key=api_key, timeout=TIMEOUT,
                           max_body_bytes=MAX_BODY, stream_max_tokens=8)
        result = await PROBES[kind](ctx)
    return result, server


def run(script: Script, kind: str, **options: object) -> tuple[ProbeResult, FakeServer]:
    return asyncio.run(probe(script, kind, **options))


def only_request(server: FakeServer) -> tuple[str, dict[str, str], bytes]:
    """The request line, headers and body of the one request the server got."""
    assert len(server.requests) == 1
    head, body = server.requests[0]
    return head.split(b"\r\n", 1)[0].decode(), headers_of(head), body


# --- 1. the models probe --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "document", "outcome", "detail"),
    [
        pytest.param(200, model_list("gpt-4o", "gpt-4o-mini", "o3-mini"), "ok", "",
                     id="model-listed"),
        pytest.param(200, model_list("gpt-4o", "o3-mini", "gpt-5-mini"), "invalid_response",
                     "model 'gpt-4o-mini' is not among the 3 models listed", id="model-not-listed"),
        pytest.param(200, model_list(), "empty_response", "the model list is empty",
                     id="empty-data"),
        pytest.param(200, {"object": "list", "data": {"id": "gpt-4o-mini", "object": "model"}},
                     "invalid_response", "data is not a list of model objects",
                     id="data-not-a-list"),
        pytest.param(200, {"object": "list"}, "invalid_response",
                     "data is not a list of model objects", id="data-missing"),
        pytest.param(401, BAD_KEY, "auth",
                     "HTTP 401: Incorrect API key provided: [redacted]. You can find your API "
                     "key at https://platform.openai.com/account/api-keys.", id="http-401"),
    ],
)
def test_models_probe(status: int, document: object, outcome: str, detail: str) -> None:
    result, server = run(respond(status, document), "models")
    assert (result.outcome, result.detail, result.http_status) == (outcome, detail, status)
    assert SECRET not in result.detail
    assert (result.input_tokens, result.output_tokens) == (None, None)
    line, headers, body = only_request(server)
    assert line == "GET /v1/models HTTP/1.1"
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert body == b""


# --- 2. Azure OpenAI ------------------------------------------------------------------------

AZURE_LINE = (f"POST /openai/deployments/gpt-4o-mini-prod/chat/completions"
              f"?api-version={AZURE_VERSION} HTTP/1.1")


@pytest.mark.parametrize(
    ("kind", "script", "streamed"),
    [
        pytest.param("completion", respond(200, AZURE_COMPLETION), False, id="completion"),
        pytest.param("stream", sse(AZURE_STREAM), True, id="stream"),
    ],
)
def test_azure_deployment_request(kind: str, script: Script, streamed: bool) -> None:
    result, server = run(script, kind, protocol="azure", model="gpt-4o-mini-prod",
                         api_version=AZURE_VERSION)
    assert result.outcome == "ok", result.detail
    line, headers, body = only_request(server)
    assert line == AZURE_LINE
    assert headers["api-key"] == SECRET
    assert "authorization" not in headers
    payload = json.loads(body)
    assert "model" not in payload
    assert payload["messages"] == PING
    assert payload.get("stream", False) is streamed
    if streamed:
        assert result.chunks == 2 and result.stream_clean is True


# --- 3. reasoning models --------------------------------------------------------------------

PLAIN = {"max_tokens": 1, "temperature": 0}


def reasoning(effort: str | None, tokens: int = 16) -> dict[str, object]:
    """A reasoning model's completion request: `tokens` is the family's least budget
    (prober.chat_shape.FAMILIES); effort None is left out."""
    effort_field = {} if effort is None else {"reasoning_effort": effort}
    return {"max_completion_tokens": tokens, **effort_field}


@pytest.mark.parametrize("kind", ["completion", "stream"])
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"model": "gpt-4o-mini"}, {"model": "gpt-4o-mini", **PLAIN},
                     id="gpt-4o-mini-auto"),
        pytest.param({"model": "o3-mini"}, {"model": "o3-mini", **reasoning("low")},
                     id="o3-mini-auto"),
        pytest.param({"model": "o1-mini"}, {"model": "o1-mini", **reasoning(None)},
                     id="o1-mini-auto-no-effort"),
        pytest.param({"model": "gpt-5-mini"}, {"model": "gpt-5-mini", **reasoning("minimal")},
                     id="gpt-5-mini-auto"),
        pytest.param({"model": "gpt-5.1"}, {"model": "gpt-5.1", **reasoning("none")},
                     id="gpt-5.1-auto-effort-none"),
        pytest.param({"model": "openai/o4-mini"}, {"model": "openai/o4-mini",
                                                   **reasoning("low")},
                     id="router-prefixed-o4-mini-auto"),
        pytest.param({"model": "acme-thinker", "reasoning": True},
                     {"model": "acme-thinker", **reasoning("low", 1)}, id="reasoning-true"),
        pytest.param({"model": "gpt-5-mini", "reasoning_effort": "medium"},
                     {"model": "gpt-5-mini", **reasoning("medium")}, id="configured-effort"),
        pytest.param({"model": "gpt-5-mini", "max_output_tokens": 4},
                     {"model": "gpt-5-mini", **reasoning("minimal", 4)},
                     id="configured-max-output-tokens"),
        pytest.param({"model": "gpt-4o-mini", "max_output_tokens": 32},
                     {"model": "gpt-4o-mini", **PLAIN, "max_tokens": 32},
                     id="plain-max-output-tokens"),
        pytest.param({"model": "o3-mini", "reasoning": False}, {"model": "o3-mini", **PLAIN},
                     id="o3-mini-reasoning-false"),
        pytest.param({"protocol": "azure", "model": "o3-mini", "api_version": AZURE_VERSION},
                     reasoning("low"), id="azure-o3-mini-deployment"),
    ],
)
def test_reasoning_payload(fields: dict[str, object], expected: dict[str, object],
                           kind: str) -> None:
    # Request body: https://platform.openai.com/docs/api-reference/chat/create
    model = str(fields["model"])
    script = (respond(200, completion(model, "Pong", "length")) if kind == "completion"
              else sse(ok_stream(model)))
    result, server = run(script, kind, **fields)
    assert result.outcome == "ok", result.detail
    expected = {"messages": PING, **expected}
    if kind == "stream":
        budget = "max_completion_tokens" if "max_completion_tokens" in expected else "max_tokens"
        expected |= {budget: max(8, int(expected[budget])), "stream": True,  # type: ignore[call-overload]
                     "stream_options": {"include_usage": True}}
    assert json.loads(only_request(server)[2]) == expected


@pytest.mark.parametrize(
    ("kind", "fields", "script", "outcome", "detail"),
    [
        pytest.param("stream", {"model": "o3-mini"}, sse(reasoning_only_stream("o3-mini")),
                     "ok", "", id="o3-mini-stream-length-no-content"),
        pytest.param("stream", {"model": "acme-thinker", "reasoning": True},
                     sse(reasoning_only_stream("acme-thinker")), "ok", "",
                     id="reasoning-true-stream-length-no-content"),
        pytest.param("stream", {"model": "gpt-4o-mini"},
                     sse(reasoning_only_stream("gpt-4o-mini")), "empty_response",
                     "stream ended without content", id="plain-stream-length-no-content"),
        pytest.param("stream", {"model": "o3-mini", "reasoning": False},
                     sse(reasoning_only_stream("o3-mini")), "empty_response",
                     "stream ended without content", id="reasoning-false-stream-no-content"),
        pytest.param("stream", {"model": "o3-mini"},
                     sse([chunk("o3-mini"), chunk("o3-mini", finish="stop"), b"[DONE]"]),
                     "empty_response", "stream ended without content",
                     id="o3-mini-stream-stop-no-content"),
        pytest.param("completion", {"model": "o3-mini"},
                     respond(200, completion("o3-mini-2025-01-31", "", "length", 1)), "ok", "",
                     id="o3-mini-completion-empty-content-length"),
    ],
)
def test_reasoning_outcome(kind: str, fields: dict[str, object], script: Script,
                           outcome: str, detail: str) -> None:
    result, _ = run(script, kind, **fields)
    assert (result.outcome, result.detail) == (outcome, detail)
    assert result.chunks == 0
    if kind == "stream":
        assert result.stream_clean is True and result.ttft_s is None


# --- 4. LM Studio ---------------------------------------------------------------------------

# LM Studio answers in OpenAI's shapes: https://platform.openai.com/docs/api-reference/models/list
# and https://platform.openai.com/docs/api-reference/chat/create
LMSTUDIO_MODEL = "meta-llama-3.1-8b-instruct"


@pytest.mark.parametrize(
    ("kind", "script", "line"),
    [
        pytest.param("completion", respond(200, completion(LMSTUDIO_MODEL, "Pong", "length")),
                     "POST /v1/chat/completions HTTP/1.1", id="completion"),
        pytest.param("stream", sse(ok_stream(LMSTUDIO_MODEL)),
                     "POST /v1/chat/completions HTTP/1.1", id="stream"),
        pytest.param("models", respond(200, model_list(LMSTUDIO_MODEL, "qwen2-vl-7b-instruct")),
                     "GET /v1/models HTTP/1.1", id="models"),
    ],
)
def test_lmstudio_paths_below_server_root(kind: str, script: Script, line: str) -> None:
    result, server = run(script, kind, protocol="lmstudio", model=LMSTUDIO_MODEL, api_key=None)
    assert result.outcome == "ok", result.detail
    request_line, headers, body = only_request(server)
    assert request_line == line
    assert "authorization" not in headers
    if kind != "models":
        assert json.loads(body)["model"] == LMSTUDIO_MODEL


# --- 5. result fields -----------------------------------------------------------------------

COMPLETION_BODY = completion("gpt-4o-mini", "Pong", "length")
MODELS_BODY = model_list("gpt-4o-mini")
STREAM_EVENTS = ok_stream("gpt-4o-mini")


@pytest.mark.parametrize(
    ("kind", "script", "length"),
    [
        pytest.param("completion", respond(200, COMPLETION_BODY, RATE_LIMIT_HEADERS),
                     len(json.dumps(COMPLETION_BODY)), id="completion"),
        pytest.param("stream", sse(STREAM_EVENTS, RATE_LIMIT_HEADERS),
                     body_length(STREAM_EVENTS), id="stream"),
        pytest.param("models", respond(200, MODELS_BODY, RATE_LIMIT_HEADERS),
                     len(json.dumps(MODELS_BODY)), id="models"),
    ],
)
def test_bytes_and_rate_limits(kind: str, script: Script, length: int) -> None:
    result, server = run(script, kind)
    assert result.outcome == "ok", result.detail
    _, _, body = only_request(server)
    assert result.bytes_sent > len(body)
    assert result.bytes_received >= length
    assert result.bytes_received <= server.bytes_sent
    assert result.rate_limits == RATE_LIMITS
    assert result.retry_after_s is None
