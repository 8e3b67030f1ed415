"""The simulator's Anthropic Messages API over real HTTP: shapes, event order, every fault
kind, and the Anthropic prober against it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from llmhealth_config.target import Target
from prober.anthropic import PROBES
from prober.context import ProbeContext
from prober.outcome import ProbeResult
from simulator import ModelBehavior, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
ERROR_KINDS = ["http_500", "http_429", "http_401", "timeout", "stream_cut", "invalid_json", "empty"]
MODELS = {
    "healthy": ModelBehavior(**FAST),
    **{kind: ModelBehavior(**FAST, error_rate=1.0, error_kind=kind) for kind in ERROR_KINDS},
}
VERSION = {"anthropic-version": "2023-06-01"}
PROMPT = [{"role": "user", "content": "are you there"}]
PROBE_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The Anthropic API root, as a target's `base_url` names it (without /v1)."""
    with running(MODELS, seed=7) as url:
        yield url.removesuffix("/v1") + "/anthropic"


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=VERSION, timeout=5.0) as http:
        yield http


def post(client: httpx.Client, model: str, **extra: object) -> httpx.Response:
    body = {"model": model, "max_tokens": 16, "messages": PROMPT, **extra}
    return client.post("/v1/messages", json=body)


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event name, data) of each server-sent event in `text`."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            events.append((fields["event"], fields["data"]))
    return events


def stream(client: httpx.Client, model: str, **extra: object) -> list[tuple[str, str]]:
    body = {"model": model, "max_tokens": 16, "messages": PROMPT, "stream": True, **extra}
    with client.stream("POST", "/v1/messages", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.read().decode())


def reset_in(response: httpx.Response) -> float:
    """Seconds until `anthropic-ratelimit-requests-reset` (an RFC 3339 instant)."""
    reset = response.headers["anthropic-ratelimit-requests-reset"]
    assert reset.endswith("Z")
    return (datetime.fromisoformat(reset) - datetime.now(UTC)).total_seconds()


def test_models_list_names_every_model(client: httpx.Client) -> None:
    # https://docs.anthropic.com/en/api/models-list
    body = client.get("/v1/models").json()
    assert [entry["id"] for entry in body["data"]] == list(MODELS)
    assert {entry["type"] for entry in body["data"]} == {"model"}
    assert all(entry["display_name"] == entry["id"] for entry in body["data"])
    created = datetime.fromisoformat(body["data"][0]["created_at"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600
    assert (body["has_more"], body["first_id"], body["last_id"]) == (False, "healthy", "empty")


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "error_type", "message"),
    [
        pytest.param("POST", "/v1/messages", {}, {"model": "healthy"}, 400,
                     "invalid_request_error", "anthropic-version: header is required",
                     id="messages-without-version"),
        pytest.param("GET", "/v1/models", {}, None, 400, "invalid_request_error",
                     "anthropic-version: header is required", id="models-without-version"),
        pytest.param("GET", "/v1/models", {"anthropic-version": "2024-10-22"}, None, 400,
                     "invalid_request_error", 'anthropic-version: "2024-10-22" is not a valid '
                     "version", id="invalid-version"),
        pytest.param("POST", "/v1/messages", VERSION,
                     {"model": "claude-nope", "max_tokens": 1, "messages": PROMPT}, 404,
                     "not_found_error", "model: claude-nope", id="unknown-model"),
        pytest.param("POST", "/v1/messages", VERSION, {"model": "healthy", "messages": PROMPT},
                     400, "invalid_request_error", "max_tokens: Field required",
                     id="missing-max-tokens"),
        pytest.param("POST", "/v1/messages", VERSION,
                     {"model": "healthy", "max_tokens": 1, "messages": []}, 400,
                     "invalid_request_error", "messages: List should have at least 1 item "
                     "after validation, not 0", id="no-messages"),
    ],
)
def test_bad_requests(
    base_url: str, method: str, path: str, headers: dict, content: dict | None, status: int,
    error_type: str, message: str,
) -> None:
    # Error shapes: https://docs.anthropic.com/en/api/errors
    response = httpx.request(method, base_url + path, headers=headers, json=content)
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": error_type, "message": message}}


@pytest.mark.parametrize(
    ("max_tokens", "text", "stop_reason"),
    [
        pytest.param(3, "the quick brown", "max_tokens", id="max-tokens-truncates"),
        pytest.param(100, "the quick brown fox jumps over the lazy dog the quick brown fox "
                     "jumps over the", "end_turn", id="natural-end"),
    ],
)
def test_message_shape(client: httpx.Client, max_tokens: int, text: str, stop_reason: str) -> None:
    # The message object: https://docs.anthropic.com/en/api/messages
    response = post(client, "healthy", max_tokens=max_tokens)
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("msg_") and len(body["id"]) == 4 + 24
    assert {k: v for k, v in body.items() if k != "id"} == {
        "type": "message",
        "role": "assistant",
        "model": "healthy",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": len(text.split())},
    }
    assert response.headers["anthropic-ratelimit-requests-limit"] == "50"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert -1.0 <= reset_in(response) <= 2.0


def test_stream_event_order(client: httpx.Client) -> None:
    # https://docs.anthropic.com/en/docs/build-with-claude/streaming
    events = stream(client, "healthy", max_tokens=4)
    names = [name for name, _ in events]
    assert names == [
        "message_start", "content_block_start", "ping",
        *["content_block_delta"] * 4,
        "content_block_stop", "message_delta", "message_stop",
    ]
    data = [json.loads(payload) for _, payload in events]
    assert [d["type"] for d in data] == names
    start = data[0]["message"]
    assert (start["content"], start["stop_reason"], start["usage"]) == (
        [], None, {"input_tokens": 3, "output_tokens": 1}
    )
    assert data[1]["content_block"] == {"type": "text", "text": ""}
    assert "".join(d["delta"]["text"] for d in data[3:7]) == "the quick brown fox"
    assert {d["delta"]["type"] for d in data[3:7]} == {"text_delta"}
    assert data[8] == {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
        "usage": {"output_tokens": 4},
    }


@pytest.mark.parametrize("streamed", [pytest.param(False, id="plain"),
                                      pytest.param(True, id="stream")])
@pytest.mark.parametrize(
    ("kind", "status", "error_type", "message"),
    [
        pytest.param("http_500", 500, "api_error", "Internal server error (simulated).",
                     id="500"),
        pytest.param("http_429", 429, "rate_limit_error", "Rate limit exceeded (simulated).",
                     id="429"),
        pytest.param("http_401", 401, "authentication_error", "invalid x-api-key (simulated)",
                     id="401"),
    ],
)
def test_http_faults(
    client: httpx.Client, kind: str, status: int, error_type: str, message: str, streamed: bool
) -> None:
    # Error shapes: https://docs.anthropic.com/en/api/errors
    response = post(client, kind, stream=streamed)
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": error_type, "message": message}}
    if kind == "http_429":
        assert response.headers["retry-after"] == "1"
        assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert -1.0 <= reset_in(response) <= 1.0


@pytest.mark.parametrize("streamed", [pytest.param(False, id="plain"),
                                      pytest.param(True, id="stream")])
def test_invalid_json(client: httpx.Client, streamed: bool) -> None:
    if streamed:
        (first_name, first), last = stream(client, "invalid_json")
        assert first_name == "message_start" and last[0] == "message_stop"
    else:
        response = post(client, "invalid_json")
        assert response.headers["content-type"] == "application/json"
        first = response.text
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)


def test_empty_plain(client: httpx.Client) -> None:
    body = post(client, "empty").json()
    assert (body["type"], body["content"], body["stop_reason"]) == ("message", [], None)
    assert body["usage"]["output_tokens"] == 0


def test_empty_stream(client: httpx.Client) -> None:
    events = stream(client, "empty")
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]


def test_stream_cut_drops_connection_before_message_stop(base_url: str) -> None:
    body = {"model": "stream_cut", "max_tokens": 16, "messages": PROMPT, "stream": True}
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", f"{base_url}/v1/messages", json=body, headers=VERSION) as response,
    ):
        for piece in response.iter_bytes():
            received += piece
    names = [name for name, _ in parse_sse(received.decode())]
    assert names == ["message_start", "content_block_start", "ping", *["content_block_delta"] * 2]


def test_stream_cut_breaks_plain_body(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, "stream_cut")


def test_timeout_hangs(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/messages", json={"model": "timeout", "max_tokens": 1,
                                          "messages": PROMPT}, timeout=0.3)


async def probe(base_url: str, model: str, kind: str) -> ProbeResult:
    target = Target(name=model, protocol="anthropic", base_url=base_url, model=model)
    async with httpx.AsyncClient() as http:
        ctx = ProbeContext(http, target, api_key="sk-ant-test", timeout=PROBE_TIMEOUT,
                           max_body_bytes=1_048_576, stream_max_tokens=8)
        return await PROBES[kind](ctx)


@pytest.mark.parametrize(
    ("model", "kind", "outcome", "status", "chunks"),
    [
        pytest.param("healthy", "models", "ok", 200, 0, id="models-ok"),
        pytest.param("healthy", "completion", "ok", 200, 0, id="completion-ok"),
        pytest.param("healthy", "stream", "ok", 200, 8, id="stream-ok"),
        pytest.param("http_500", "completion", "http_5xx", 500, 0, id="http_500-completion"),
        pytest.param("http_500", "stream", "http_5xx", 500, 0, id="http_500-stream"),
        pytest.param("http_429", "completion", "http_429", 429, 0, id="http_429-completion"),
        pytest.param("http_429", "stream", "http_429", 429, 0, id="http_429-stream"),
        pytest.param("http_401", "completion", "auth", 401, 0, id="http_401-completion"),
        pytest.param("http_401", "stream", "auth", 401, 0, id="http_401-stream"),
        pytest.param("timeout", "completion", "timeout", None, 0, id="timeout-completion"),
        pytest.param("timeout", "stream", "timeout", None, 0, id="timeout-stream"),
        # A plain body cut mid-way is a broken connection before any stream started.
        pytest.param("stream_cut", "completion", "connect", 200, 0, id="stream_cut-completion"),
        pytest.param("stream_cut", "stream", "stream_interrupted", 200, 2,
                     id="stream_cut-stream"),
        pytest.param("invalid_json", "completion", "invalid_response", 200, 0,
                     id="invalid_json-completion"),
        pytest.param("invalid_json", "stream", "invalid_response", 200, 0,
                     id="invalid_json-stream"),
        pytest.param("empty", "completion", "empty_response", 200, 0, id="empty-completion"),
        pytest.param("empty", "stream", "empty_response", 200, 0, id="empty-stream"),
    ],
)
def test_prober_against_simulator(
    base_url: str, model: str, kind: str, outcome: str, status: int | None, chunks: int
) -> None:
    result = asyncio.run(probe(base_url, model, kind))
    assert (result.outcome, result.http_status, result.chunks) == (outcome, status, chunks), (
        result.detail
    )
    if outcome == "ok":
        assert result.detail == ""
        tokens = {"models": (None, None), "completion": (1, 1), "stream": (1, 8)}[kind]
        assert (result.input_tokens, result.output_tokens) == tokens
    if status == 200 and kind != "models":
        [requests] = result.rate_limits
        assert (requests.limit, requests.remaining) == (50.0, 49.0)
    if outcome == "http_429":
        assert result.retry_after_s == 1.0
        assert [(r.resource, r.remaining) for r in result.rate_limits] == [("requests", 0.0)]
    if kind == "stream" and outcome == "ok":
        assert result.stream_clean is True and result.ttft_s is not None
        assert result.output_tokens_per_s is not None
