"""Probes of models that refuse the probe request, against the simulator over real HTTP: for
each kind of rejection, the probe's outcome, the corrected request it retried with, and that
the next probe of the target sends the corrected request from the start. The simulated
models answer with the status codes and bodies of the public reports (`simulator.refusals`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from llmhealth_config.target import Target
from prober import anthropic, openai
from prober.context import ProbeContext
from prober.outcome import ProbeResult
from simulator import ModelBehavior, RequestRules, running
from tests.unit.raw_http import FakeServer

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
TIMEOUT = 5.0
SHOWN = ("max_tokens", "max_completion_tokens", "temperature", "reasoning_effort")
"""The request fields a rejection is about (the prompt, model and stream flags are not)."""


def model(rules: RequestRules | str) -> ModelBehavior:
    return ModelBehavior(**FAST, rules=rules)


MODELS = {
    "m-token": model(RequestRules(token_parameter="max_completion_tokens")),
    "m-temperature-default": model(RequestRules(temperature="default_only")),
    "m-temperature-none": model(RequestRules(temperature="unsupported")),
    "m-effort-parameter": model(RequestRules(reasoning_efforts=["low", "medium", "high"])),
    "m-effort-model": model(RequestRules(reasoning_efforts=["none", "low", "medium", "high"],
                                         effort_error="model")),
    "m-effort-none": model(RequestRules(reasoning_efforts=[])),
    "m-floor": model("openrouter-gpt-5"),
    "m-budget": model(RequestRules(reasoning_tokens=40)),
    "m-azure": model("azure-2024-08-01-preview"),
    "o1": model("o1"),
    "m-thinking": model("claude-thinking-gateway"),
    "m-long-chain": model(RequestRules(token_parameter="max_completion_tokens",
                                       temperature="unsupported", reasoning_tokens=40)),
    "o1-mini": model("o1-mini"),
    "o3-mini": model("o3-mini"),
    "gpt-5-mini": model("gpt-5-mini"),
    "gpt-5.1": model("gpt-5.1"),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running(MODELS, seed=3) as url:
        yield url


def received(base_url: str, name: str) -> list[dict[str, object]]:
    """The fields of `SHOWN` of each request the simulated model received, oldest first."""
    bodies = httpx.get(base_url.removesuffix("/v1") + f"/_sim/requests/{name}").json()
    return [{key: body[key] for key in SHOWN if key in body} for body in bodies]


async def probe_twice(url: str, kind: str, **fields: object) -> tuple[ProbeResult, ProbeResult]:
    """Two probes of one target, as the prober runs them: one context, so one memory."""
    module = anthropic if fields.get("protocol") == "anthropic" else openai
    async with httpx.AsyncClient() as client:
        target = Target.model_validate({"name": "t", "base_url": url, **fields})
        ctx = ProbeContext(client, target, api_key=None, timeout=TIMEOUT,
                           max_body_bytes=1_048_576, stream_max_tokens=8)
        first = await module.PROBES[kind](ctx)
        second = await module.PROBES[kind](ctx)
    return first, second


REASONING = {"reasoning": True}


@pytest.mark.parametrize(
    ("name", "kind", "fields", "first", "then"),
    [
        pytest.param("m-token", "completion", {},
                     [{"max_tokens": 1, "temperature": 0}],
                     {"max_completion_tokens": 1, "temperature": 0},
                     id="max_tokens-to-max_completion_tokens"),
        pytest.param("m-temperature-default", "completion", {},
                     [{"max_tokens": 1, "temperature": 0}], {"max_tokens": 1},
                     id="temperature-only-default"),
        pytest.param("m-temperature-none", "stream", {},
                     [{"max_tokens": 8, "temperature": 0}], {"max_tokens": 8},
                     id="temperature-unsupported-stream"),
        pytest.param("m-effort-parameter", "completion", {**REASONING, "reasoning_effort": "minimal"},
                     [{"max_completion_tokens": 1, "reasoning_effort": "minimal"}],
                     {"max_completion_tokens": 1, "reasoning_effort": "low"},
                     id="effort-smallest-listed"),
        pytest.param("m-effort-model", "completion", {**REASONING, "reasoning_effort": "minimal"},
                     [{"max_completion_tokens": 1, "reasoning_effort": "minimal"}],
                     {"max_completion_tokens": 1, "reasoning_effort": "none"},
                     id="effort-listed-by-model"),
        pytest.param("m-effort-none", "completion", REASONING,
                     [{"max_completion_tokens": 1, "reasoning_effort": "low"}],
                     {"max_completion_tokens": 1}, id="effort-unsupported"),
        pytest.param("m-floor", "completion", {},
                     [{"max_tokens": 1, "temperature": 0}], {"max_tokens": 16, "temperature": 0},
                     id="floor-through-openrouter"),
        pytest.param("m-budget", "completion", REASONING,
                     [{"max_completion_tokens": 1, "reasoning_effort": "low"},
                      {"max_completion_tokens": 16, "reasoning_effort": "low"}],
                     {"max_completion_tokens": 64, "reasoning_effort": "low"},
                     id="budget-spent-on-reasoning"),
        pytest.param("m-azure", "completion", REASONING,
                     [{"max_completion_tokens": 1, "reasoning_effort": "low"}],
                     {"max_tokens": 1, "reasoning_effort": "low"},
                     id="azure-without-max_completion_tokens"),
        pytest.param("m-thinking", "completion", REASONING,
                     [{"max_completion_tokens": 1, "reasoning_effort": "low"}],
                     {"max_completion_tokens": 1}, id="gateway-thinking-from-effort"),
    ],
)
def test_corrected_and_reused(base_url: str, name: str, kind: str, fields: dict[str, object],
                              first: list[dict[str, object]], then: dict[str, object],
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="prober")
    one, two = asyncio.run(probe_twice(base_url, kind, model=name, **fields))
    assert (one.outcome, one.http_status) == ("ok", 200), one.detail
    assert (two.outcome, two.http_status) == ("ok", 200), two.detail
    # The first probe: the refused requests, then the corrected one; the second: only that.
    assert received(base_url, name) == [*first, then, then]
    assert one.bytes_sent > two.bytes_sent  # the refused attempts count as bytes spent
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(first)  # one per correction, none for the second probe
    assert all(line.startswith(f"target=t kind={kind} the model refused") for line in lines)


def test_more_corrections_than_one_probe_sends_continue_in_the_next(base_url: str) -> None:
    # max_tokens, temperature, then two budget steps: four requests are one probe's most.
    one, two = asyncio.run(probe_twice(base_url, "completion", model="m-long-chain"))
    assert (one.outcome, one.http_status) == ("probe_rejected", 400)
    assert one.detail.startswith("corrected for the next probe: a token limit of 64")
    assert (two.outcome, two.http_status) == ("ok", 200), two.detail
    assert received(base_url, "m-long-chain") == [
        {"max_tokens": 1, "temperature": 0},
        {"max_completion_tokens": 1, "temperature": 0},
        {"max_completion_tokens": 1},
        {"max_completion_tokens": 16},
        {"max_completion_tokens": 64},
    ]


def test_a_model_that_does_not_stream_is_rejected_not_down(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="prober")
    one, two = asyncio.run(probe_twice(base_url, "stream", model="o1"))
    for result in (one, two):
        assert (result.outcome, result.http_status) == ("probe_rejected", 400)
        assert result.detail.startswith("the model does not stream: remove stream from this "
                                        "target's probes (HTTP 400: Unsupported value: 'stream'")
    assert received(base_url, "o1") == [{"max_completion_tokens": 16, "reasoning_effort": "low"}] * 2
    [line] = [r.getMessage() for r in caplog.records]  # once, not per probe
    assert line.startswith("target=t kind=stream probe rejected by the model, not an outage")
    assert line.endswith("to fix: the model does not stream: remove stream from this target's "
                         "probes")
    completion, _ = asyncio.run(probe_twice(base_url, "completion", model="o1"))
    assert completion.outcome == "ok", completion.detail


def test_anthropic_thinking_gateway(base_url: str) -> None:
    url = base_url.removesuffix("/v1") + "/anthropic"
    fields = {"protocol": "anthropic", "model": "m-thinking"}
    one, _ = asyncio.run(probe_twice(url, "completion", **fields))
    assert (one.outcome, one.http_status) == ("probe_rejected", 400)
    assert "set max_output_tokens above its thinking budget (at least 1025)" in one.detail
    assert received(base_url, "m-thinking")[-2:] == [{"max_tokens": 1, "temperature": 0}] * 2
    # With the budget the operator set, only the temperature is left to correct.
    first, second = asyncio.run(probe_twice(url, "stream", max_output_tokens=1025, **fields))
    assert (first.outcome, second.outcome) == ("ok", "ok"), (first.detail, second.detail)
    assert received(base_url, "m-thinking")[-3:] == [
        {"max_tokens": 1025, "temperature": 0}, {"max_tokens": 1025}, {"max_tokens": 1025}]


@pytest.mark.parametrize("kind", ["completion", "stream"])
@pytest.mark.parametrize("name", ["o1-mini", "o3-mini", "gpt-5-mini", "gpt-5.1"])
def test_family_defaults_are_accepted_at_once(base_url: str, name: str, kind: str) -> None:
    """A target named after the real model sends what that model takes from the first
    request: the defaults of docs/configuration.md need no correction."""
    before = len(received(base_url, name))
    one, two = asyncio.run(probe_twice(base_url, kind, model=name))
    assert (one.outcome, two.outcome) == ("ok", "ok"), (one.detail, two.detail)
    assert len(received(base_url, name)) == before + 2


# --- two refusals that contradict each other (raw HTTP) --------------------------------------

BOTH_WAYS = {
    b'"max_tokens"': b'{"error": {"message": "Unsupported parameter: \'max_tokens\' is not '
                     b'supported with this model. Use \'max_completion_tokens\' instead.", "type": '
                     b'"invalid_request_error", "param": "max_tokens", "code": '
                     b'"unsupported_parameter"}}',
    b'"max_completion_tokens"': b'{"error": {"message": "Unrecognized request argument supplied: '
                                b'max_completion_tokens", "type": "invalid_request_error", '
                                b'"param": null, "code": null}}',
}


async def refuse_both_ways(server: FakeServer, reader, writer) -> None:
    """An endpoint that refuses either spelling of the token limit (a reasoning deployment
    behind an Azure API version without max_completion_tokens)."""
    _, body = await server.read_request(reader)
    answer = next(text for key, text in BOTH_WAYS.items() if key in body)
    head = (f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(answer)}\r\n\r\n").encode()
    await server.send(writer, head + answer)


def test_contradicting_refusals_end_rejected() -> None:
    async def run() -> tuple[ProbeResult, int]:
        async with FakeServer(refuse_both_ways) as server:
            one, _ = await probe_twice(f"http://127.0.0.1:{server.port}/v1", "completion",
                                       model="prod-deployment")
            return one, len(server.requests)

    result, requests = asyncio.run(run())
    assert (result.outcome, result.http_status) == ("probe_rejected", 400)
    assert result.detail.startswith("the endpoint refuses the request both ways (max_tokens "
                                    "instead of max_completion_tokens was refused too)")
    assert requests == 2 + 2  # each probe: max_tokens, then max_completion_tokens; no third


def test_a_key_echoed_in_the_refusal_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-SECRET123"
    answer = json.dumps({"error": {
        "message": f"Unsupported value: 'stream' does not support true with this model. "
                   f"Supported values are: false. (key {secret})",
        "type": "invalid_request_error", "param": "stream", "code": "unsupported_value"}}).encode()

    async def refuse(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, (f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json"
                                   f"\r\nContent-Length: {len(answer)}\r\n\r\n").encode() + answer)

    async def run() -> ProbeResult:
        async with FakeServer(refuse) as server, httpx.AsyncClient() as client:
            target = Target(name="t", base_url=f"http://127.0.0.1:{server.port}/v1", model="o1")
            ctx = ProbeContext(client, target, api_key=secret, timeout=TIMEOUT,
                               max_body_bytes=1_048_576)
            return await openai.PROBES["stream"](ctx)

    caplog.set_level(logging.WARNING, logger="prober")
    result = asyncio.run(run())
    assert result.outcome == "probe_rejected"
    assert "[redacted]" in result.detail and secret not in result.detail
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)
