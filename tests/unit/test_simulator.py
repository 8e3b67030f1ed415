"""The simulator over real HTTP: OpenAI shapes, every fault kind, runtime control."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from simulator import ModelBehavior, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
ERROR_KINDS = ["http_500", "http_429", "http_401", "timeout", "stream_cut", "invalid_json", "empty"]
MODELS = {
    "healthy": ModelBehavior(**FAST),
    **{kind: ModelBehavior(**FAST, error_rate=1.0, error_kind=kind) for kind in ERROR_KINDS},
}
PROMPT = [{"role": "user", "content": "are you there"}]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running(MODELS, seed=7) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0) as http:
        yield http


def chat(client: httpx.Client, model: str, **extra: object) -> httpx.Response:
    return client.post("/chat/completions", json={"model": model, "messages": PROMPT, **extra})


def stream_events(client: httpx.Client, model: str, **extra: object) -> list[str]:
    """The `data:` payloads of a stream request, in order."""
    body = {"model": model, "messages": PROMPT, "stream": True, **extra}
    with client.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def sim_url(base_url: str, path: str) -> str:
    return base_url.removesuffix("/v1") + path


def test_models_list_names_every_model(client: httpx.Client) -> None:
    body = client.get("/models").json()
    assert body["object"] == "list"
    assert [entry["id"] for entry in body["data"]] == list(MODELS)
    assert {entry["owned_by"] for entry in body["data"]} == {"llmhealth-simulator"}


@pytest.mark.parametrize(
    ("limits", "words", "finish_reason"),
    [
        pytest.param({"max_tokens": 3}, 3, "length", id="max_tokens-truncates"),
        pytest.param({"max_completion_tokens": 5}, 5, "length", id="max_completion_tokens"),
        pytest.param({}, 16, "stop", id="no-limit-natural-stop"),
        pytest.param({"max_tokens": 100}, 16, "stop", id="limit-above-natural-length"),
    ],
)
def test_non_stream_success_shape(
    client: httpx.Client, limits: dict, words: int, finish_reason: str
) -> None:
    response = chat(client, "healthy", **limits)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "healthy"
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert len(choice["message"]["content"].split()) == words
    assert choice["finish_reason"] == finish_reason
    assert body["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": words,
        "total_tokens": 3 + words,
    }


@pytest.mark.parametrize(
    "include_usage",
    [pytest.param(True, id="with-usage-chunk"), pytest.param(False, id="without-usage")],
)
def test_stream_success(client: httpx.Client, include_usage: bool) -> None:
    events = stream_events(
        client, "healthy", max_tokens=4, stream_options={"include_usage": include_usage}
    )
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "the quick brown fox"
    finishing = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finishing] == ["length"]
    usage_chunks = [c for c in chunks if c.get("usage")]
    if include_usage:
        assert chunks[-1]["choices"] == []
        assert usage_chunks == [chunks[-1]] and chunks[-1]["usage"]["completion_tokens"] == 4
    else:
        assert usage_chunks == []


@pytest.mark.parametrize(
    "stream", [pytest.param(False, id="plain"), pytest.param(True, id="stream")]
)
@pytest.mark.parametrize(
    ("kind", "status", "error_type", "code"),
    [
        pytest.param("http_500", 500, "server_error", None, id="500"),
        pytest.param("http_429", 429, "requests", "rate_limit_exceeded", id="429"),
        pytest.param("http_401", 401, "invalid_request_error", "invalid_api_key", id="401"),
    ],
)
def test_http_faults(
    client: httpx.Client, kind: str, status: int, error_type: str, code: str | None, stream: bool
) -> None:
    response = chat(client, kind, stream=stream)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["type"], error["code"]) == (error_type, code) and error["message"]
    if kind == "http_429":
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
        assert response.headers["x-ratelimit-reset-tokens"] == "6m0s"
        assert int(response.headers["x-ratelimit-limit-tokens"]) > 0


def test_invalid_json_plain(client: httpx.Client) -> None:
    response = chat(client, "invalid_json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_invalid_json_stream(client: httpx.Client) -> None:
    events = stream_events(client, "invalid_json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[0])


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(False, None, id="plain-no-choices"),
        pytest.param(True, ["[DONE]"], id="stream-only-done"),
    ],
)
def test_empty(client: httpx.Client, stream: bool, expected: list[str] | None) -> None:
    if stream:
        assert stream_events(client, "empty") == expected
        return
    body = chat(client, "empty").json()
    assert body["object"] == "chat.completion" and body["choices"] == []


def read_until_broken(client: httpx.Client, model: str) -> tuple[list[str], Exception | None]:
    """Data payloads of a stream request received before the connection broke, and the
    error that broke it (None if the stream ended cleanly)."""
    body = {"model": model, "messages": PROMPT, "stream": True}
    events: list[str] = []
    try:
        with client.stream("POST", "/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
    except httpx.RemoteProtocolError as exc:
        return events, exc
    return events, None


def test_stream_cut_drops_stream_before_done(client: httpx.Client) -> None:
    events, error = read_until_broken(client, "stream_cut")
    assert isinstance(error, httpx.RemoteProtocolError)
    assert events and "[DONE]" not in events
    assert all(json.loads(event)["choices"][0]["finish_reason"] is None for event in events)


def test_stream_cut_breaks_plain_body(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete|expected"):
        chat(client, "stream_cut")


async def _hang_and_healthy(base_url: str) -> tuple[BaseException | None, float, int]:
    """Fire a `timeout`-fault request (0.5 s client timeout) and a healthy one together."""
    async with httpx.AsyncClient(base_url=base_url) as http:

        async def healthy() -> tuple[float, int]:
            started = time.monotonic()
            response = await http.post(
                "/chat/completions", json={"model": "healthy", "messages": PROMPT}, timeout=5
            )
            return time.monotonic() - started, response.status_code

        hang = http.post(
            "/chat/completions", json={"model": "timeout", "messages": PROMPT}, timeout=0.5
        )
        hung, (elapsed, status) = await asyncio.gather(hang, healthy(), return_exceptions=True)
        return (hung if isinstance(hung, BaseException) else None), elapsed, status


def test_timeout_hangs_without_blocking_other_requests(base_url: str) -> None:
    hung, healthy_seconds, healthy_status = asyncio.run(_hang_and_healthy(base_url))
    assert isinstance(hung, httpx.ReadTimeout)
    assert healthy_status == 200 and healthy_seconds < 0.4


def test_shutdown_answers_a_hanging_request_promptly() -> None:
    statuses: list[int] = []
    started = time.monotonic()
    with running({"hang": ModelBehavior(error_rate=1.0, error_kind="timeout")}) as url:
        body = {"model": "hang", "messages": PROMPT}
        thread = threading.Thread(
            target=lambda: statuses.append(
                httpx.post(f"{url}/chat/completions", json=body, timeout=30).status_code
            )
        )
        thread.start()
        time.sleep(0.3)
    thread.join(5)
    assert time.monotonic() - started < 3.0
    assert statuses == [503]


@pytest.mark.parametrize(
    ("content", "status", "needle"),
    [
        pytest.param(b"{not json", 400, "Invalid JSON", id="malformed-json"),
        pytest.param(b'{"model": "healthy"}', 400, "messages", id="missing-messages"),
        pytest.param(
            b'{"model": "healthy", "messages": [], "max_tokens": 0}',
            400,
            "messages",
            id="empty-messages",
        ),
        pytest.param(
            b'{"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]}',
            404,
            "model_not_found",
            id="unknown-model",
        ),
    ],
)
def test_bad_requests(client: httpx.Client, content: bytes, status: int, needle: str) -> None:
    response = client.post("/chat/completions", content=content)
    assert response.status_code == status
    assert needle in response.text and "error" in response.json()


def test_put_flips_model_from_healthy_to_failing() -> None:
    with running({"flip": ModelBehavior(**FAST)}) as url, httpx.Client(base_url=url) as http:
        assert chat(http, "flip").status_code == 200
        failing = {**FAST, "error_rate": 1.0, "error_kind": "http_500"}
        assert http.put(sim_url(url, "/_sim/models/flip"), json=failing).status_code == 200
        assert chat(http, "flip").status_code == 500
        assert http.get(sim_url(url, "/_sim/models")).json()["flip"]["error_rate"] == 1.0
        stats = http.get(sim_url(url, "/_sim/stats")).json()
        assert stats == {"flip": {"requests": 2, "errors": 1, "refused": 0}}


@pytest.mark.parametrize(
    ("behavior", "needle"),
    [
        pytest.param({"latency_p50": 2.0, "latency_p99": 1.0}, "latency_p99", id="p99-below-p50"),
        pytest.param({"eror_rate": 0.5}, "eror_rate", id="unknown-key"),
        pytest.param({"error_rate": 1.5}, "less than or equal to 1", id="error-rate-above-1"),
        pytest.param({"error_kind": "http_418"}, "error_kind", id="unknown-error-kind"),
    ],
)
def test_put_rejects_invalid_behavior(
    base_url: str, client: httpx.Client, behavior: dict, needle: str
) -> None:
    response = client.put(sim_url(base_url, "/_sim/models/healthy"), json=behavior)
    assert response.status_code == 422
    assert needle in response.text
    current = client.get(sim_url(base_url, "/_sim/models")).json()["healthy"]
    assert current == MODELS["healthy"].model_dump(mode="json")


def test_fixed_seed_reproduces_fault_draws() -> None:
    models = {"coin": ModelBehavior(**FAST, error_rate=0.5)}

    def statuses() -> list[int]:
        with running(models, seed=42) as url, httpx.Client(base_url=url) as http:
            return [chat(http, "coin").status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert set(first) == {200, 500}
