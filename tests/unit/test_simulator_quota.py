"""A simulated model's rate limit over real HTTP (`simulator.quota`): headers that count down
as the OpenAI and Anthropic APIs send them (read back with the prober's own parser), a 429 once
the window is spent, a fresh window after it; and the Azure deployment route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from prober.ratelimit import RateLimit, parse_rate_limits, parse_retry_after
from simulator import ModelBehavior, running
from simulator.quota import RateLimit as Limit

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
PROMPT = [{"role": "user", "content": "are you there"}]  # 3 prompt tokens
MODELS = {
    "three": ModelBehavior(**FAST, rate_limit=Limit(requests=3, tokens=1000, window=60)),
    "tokens": ModelBehavior(**FAST, rate_limit=Limit(tokens=30, window=60)),
    "short": ModelBehavior(**FAST, rate_limit=Limit(requests=1, window=1.5)),
    "azure-three": ModelBehavior(**FAST, rate_limit=Limit(requests=3, window=60)),
    "free": ModelBehavior(**FAST),
}


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    with running(MODELS, seed=5) as url:
        yield url.removesuffix("/v1")


def limits(response: httpx.Response) -> dict[str, tuple[float | None, float | None]]:
    """(limit, remaining) per resource, as the prober reads the response's headers."""
    found = parse_rate_limits(response.headers, datetime.now(UTC))
    return {r.resource: (r.limit, r.remaining) for r in found}


def openai_chat(root: str, model: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{root}/v1/chat/completions", timeout=5,
                      json={"model": model, "messages": PROMPT, "max_tokens": 16, **extra})


def test_openai_headers_count_down_then_429_until_the_window_ends(root: str) -> None:
    answers = [openai_chat(root, "three") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    # each request: 1 request, 3 prompt + 16 limit tokens
    assert [limits(a) for a in answers] == [
        {"requests": (3, 2), "tokens": (1000, 981)}, {"requests": (3, 1), "tokens": (1000, 962)},
        {"requests": (3, 0), "tokens": (1000, 943)}, {"requests": (3, 0), "tokens": (1000, 943)}]
    reset = parse_rate_limits(answers[3].headers, datetime.now(UTC))[0].reset_s
    assert 55 < reset <= 60
    assert parse_retry_after(answers[3].headers, datetime.now(UTC)) == 60
    assert answers[3].json()["error"]["code"] == "rate_limit_exceeded"


def test_tokens_run_out_before_requests(root: str) -> None:
    first, second = openai_chat(root, "tokens"), openai_chat(root, "tokens")
    assert (first.status_code, limits(first)) == (200, {"tokens": (30, 11)})
    assert (second.status_code, limits(second)) == (429, {"tokens": (30, 11)})
    last = openai_chat(root, "tokens", max_tokens=1)  # 4 tokens still fit
    assert (last.status_code, limits(last)) == (200, {"tokens": (30, 7)})


def test_a_new_window_starts_afresh(root: str) -> None:
    assert openai_chat(root, "short").status_code == 200
    assert openai_chat(root, "short").status_code == 429
    time.sleep(1.6)
    answer = openai_chat(root, "short")
    assert (answer.status_code, limits(answer)) == (200, {"requests": (1, 0)})


def test_stream_carries_the_headers(root: str) -> None:
    body = {"model": "three", "messages": PROMPT, "max_tokens": 4, "stream": True}
    with httpx.Client(timeout=5) as http:
        http.put(f"{root}/_sim/models/three", json={**FAST, "rate_limit": {"requests": 3}})
        with http.stream("POST", f"{root}/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert limits(response) == {"requests": (3, 2)}
            assert b"[DONE]" in response.read()


def test_anthropic_headers_count_down(root: str) -> None:
    headers = {"anthropic-version": "2023-06-01"}
    body = {"model": "azure-three", "messages": PROMPT, "max_tokens": 8}
    answers = [httpx.post(f"{root}/anthropic/v1/messages", json=body, headers=headers, timeout=5)
               for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [limits(a)["requests"] for a in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert answers[3].json()["error"]["type"] == "rate_limit_error"
    reset = parse_rate_limits(answers[0].headers, datetime.now(UTC))[0]
    assert isinstance(reset, RateLimit) and 50 < reset.reset_s <= 61  # whole seconds


def test_a_model_without_a_limit_reports_none(root: str) -> None:
    assert limits(openai_chat(root, "free")) == {}


def test_azure_route_answers_as_the_deployments_model(root: str) -> None:
    url = f"{root}/openai/deployments/free/chat/completions"
    body = {"messages": PROMPT, "max_tokens": 2}
    answer = httpx.post(url, params={"api-version": "2024-10-21"}, json=body,
                        headers={"api-key": "k"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["model"] == "free"
    assert answer.json()["choices"][0]["finish_reason"] == "length"
    missing = httpx.post(url, json=body, timeout=5)
    assert (missing.status_code, missing.json()) == (
        404, {"error": {"code": "404", "message": "Resource not found"}})
    unknown = httpx.post(f"{root}/openai/deployments/nope/chat/completions",
                         params={"api-version": "2024-10-21"}, json=body, timeout=5)
    assert unknown.status_code == 404
    assert httpx.get(f"{root}/_sim/requests/free").json()[-1] == body


def test_a_limit_needs_something_to_limit() -> None:
    with pytest.raises(ValueError, match="rate_limit needs requests or tokens"):
        Limit(window=60)
