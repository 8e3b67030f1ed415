"""The `context` probe (`prober.multiturn`) against the simulator over real HTTP, for every
protocol that speaks multi-turn chat: a model that keeps the conversation is `ok`, one that
loses it always is `context_lost`, one that loses it a fraction of the time is `context_lost`
that often; the second turn carries the first, a failed turn is its own error type, both
turns' tokens count, and reasoning models are asked at their smallest effort and floor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from llmhealth_config.target import Target
from prober import multiturn
from prober.context import ProbeContext
from prober.outcome import ProbeResult
from prober.protocols import probe_for
from simulator import ModelBehavior, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
MODELS = {
    "keeps": ModelBehavior(**FAST),
    "forgets": ModelBehavior(**FAST, context_loss_rate=1.0),
    "sometimes": ModelBehavior(**FAST, context_loss_rate=0.5),
    "down": ModelBehavior(**FAST, error_rate=1.0, error_kind="http_500"),
    "o3-mini": ModelBehavior(**FAST, rules="o3-mini"),
}
FIRST = "Remember this number: {}. Reply with OK only."


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    with running(MODELS, seed=11) as url:
        yield url.removesuffix("/v1")


PROTOCOLS = {
    "openai": lambda root: {"protocol": "openai", "base_url": f"{root}/v1"},
    "azure": lambda root: {"protocol": "azure", "base_url": root, "api_version": "2024-10-21"},
    "anthropic": lambda root: {"protocol": "anthropic", "base_url": f"{root}/anthropic"},
    "ollama": lambda root: {"protocol": "ollama", "base_url": f"{root}/ollama"},
    "lmstudio": lambda root: {"protocol": "lmstudio", "base_url": f"{root}/lmstudio"},
}


def target(root: str, protocol: str, model: str, **fields: object) -> Target:
    return Target.model_validate({"name": f"{protocol}-{model}", "model": model,
                                  "probes": ["context"], **PROTOCOLS[protocol](root), **fields})


async def probe(target_: Target, times: int = 1) -> list[ProbeResult]:
    async with httpx.AsyncClient() as client:
        ctx = ProbeContext(client, target_, api_key="sk-context-SECRET", timeout=5.0,
                           max_body_bytes=1_048_576)
        return [await probe_for(target_, "context")(ctx) for _ in range(times)]


def received(root: str, model: str) -> list[dict]:
    return httpx.get(f"{root}/_sim/requests/{model}").json()


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_model_that_keeps_the_conversation_is_ok(root: str, protocol: str) -> None:
    [result] = asyncio.run(probe(target(root, protocol, "keeps")))
    assert (result.kind, result.outcome, result.detail) == ("context", "ok", "")
    first, second = received(root, "keeps")[-2:]
    number = first["messages"][0]["content"].split()[3].rstrip(".")
    assert first["messages"] == [{"role": "user", "content": FIRST.format(number)}]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][0] == first["messages"][0]
    assert second["messages"][2]["content"] == multiturn.SECOND_QUESTION
    # both turns' usage: the simulator counts prompt words, and answers the first turn with 16
    # words (the limit) and the second with the number
    assert result.output_tokens == multiturn.TURN_TOKENS + 1
    question = len(multiturn.SECOND_QUESTION.split())
    assert result.input_tokens == 8 + (8 + multiturn.TURN_TOKENS + question)


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_model_that_loses_the_conversation_is_context_lost(root: str, protocol: str) -> None:
    [result] = asyncio.run(probe(target(root, protocol, "forgets")))
    assert result.outcome == "context_lost"
    assert result.detail == ("turn 2 answered without the number turn 1 gave: "
                             "'I do not remember any number.'")
    assert result.http_status == 200


def test_a_model_that_loses_it_half_the_time(root: str) -> None:
    outcomes = [r.outcome for r in asyncio.run(probe(target(root, "openai", "sometimes"), 20))]
    assert set(outcomes) == {"ok", "context_lost"}
    assert 4 <= outcomes.count("context_lost") <= 16


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
def test_a_failed_turn_is_its_error_type(root: str, protocol: str) -> None:
    [result] = asyncio.run(probe(target(root, protocol, "down")))
    assert result.outcome == "http_5xx"
    assert result.detail.startswith("turn 1: HTTP 500")
    assert "SECRET" not in result.detail


def test_openai_sends_each_turn_at_temperature_0_with_the_turn_limit(root: str) -> None:
    asyncio.run(probe(target(root, "openai", "keeps")))
    for body in received(root, "keeps")[-2:]:
        assert (body["max_tokens"], body["temperature"]) == (multiturn.TURN_TOKENS, 0)


def test_a_reasoning_model_is_asked_at_its_smallest_effort_and_floor(root: str) -> None:
    [result] = asyncio.run(probe(target(root, "openai", "o3-mini")))
    assert result.outcome == "ok"
    for body in received(root, "o3-mini")[-2:]:
        assert "temperature" not in body and "max_tokens" not in body
        assert (body["max_completion_tokens"], body["reasoning_effort"]) == (16, "low")


@pytest.mark.parametrize(("answer", "outcome"), [
    pytest.param("482913", "ok", id="the-number"),
    pytest.param("The number is 482,913.", "ok", id="with-separators-and-words"),
    pytest.param("482 913", "ok", id="grouped"),
    pytest.param("482914", "context_lost", id="another-number"),
    pytest.param("4829", "context_lost", id="part-of-it"),
    pytest.param("I do not know which number.", "context_lost", id="forgotten"),
    pytest.param("  \n", "empty_response", id="no-text"),
])
def test_judge(answer: str, outcome: str) -> None:
    assert multiturn.judge("482913", answer)[0] == outcome


def test_numbers_are_six_digits() -> None:
    numbers = {multiturn.new_number() for _ in range(50)}
    assert len(numbers) > 40 and all(len(n) == 6 and n[0] != "0" for n in numbers)
