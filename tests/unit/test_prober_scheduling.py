"""Scheduling against real local HTTP servers: per-endpoint concurrency, confirmation
re-probes (up to the breaker's failure count), retry-after, token budgets, and the self-activity metrics they produce."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmhealth_config.aggregator import AggregatorSettings, BreakerSettings
from llmhealth_config.model import Config, ProberSettings
from llmhealth_config.target import Target
from prober.loop import run_targets
from prober.telemetry import TEMPORALITY, Telemetry
from tests.unit.raw_http import FakeServer

# Chat completion object: https://platform.openai.com/docs/api-reference/chat/object
COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Pong"},
                 "finish_reason": "length"}],
    "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
}
# Model list: https://platform.openai.com/docs/api-reference/models/list
MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "created": 1, "owned_by": "x"}]}
# Rate-limit headers: https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
RATE_LIMITED = {"retry-after": "1", "x-ratelimit-limit-requests": "60",
                "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}

Answer = tuple[int, dict[str, str], dict]
Responder = Callable[[int, str], Answer]


def always_ok(_n: int, request_line: str) -> Answer:
    return 200, {}, MODELS if request_line.startswith("GET") else COMPLETION


class Provider(FakeServer):
    """Answers request number n (from 0) with `responder(n, request line)` after `delay`
    seconds; records arrival times, request lines and the most requests in flight at once."""

    def __init__(self, responder: Responder = always_ok, delay: float = 0.0) -> None:
        super().__init__(Provider._answer)
        self.responder, self.delay = responder, delay
        self.arrivals: list[float] = []
        self.lines: list[str] = []
        self.in_flight = self.max_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await self.read_request(reader)
            line = head.split(b"\r\n", 1)[0].decode()
            self.arrivals.append(asyncio.get_running_loop().time())
            self.lines.append(line)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
                status, headers, body = self.responder(len(self.lines) - 1, line)
            finally:
                self.in_flight -= 1
            payload = json.dumps(body).encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            await self.send(writer, f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                            f"{extra}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)


def config(*targets: dict, **prober: object) -> Config:
    defaults = {"timeout": 2.0, "interval": 0.3, "allow_fast_interval": True}
    return Config(targets=[Target(**{**defaults, **t}) for t in targets],
                  prober=ProberSettings(**prober))


async def run_for(cfg: Config, seconds: float) -> InMemoryMetricReader:
    reader = InMemoryMetricReader(preferred_temporality=TEMPORALITY)
    stop = asyncio.Event()
    runner = asyncio.create_task(run_targets(cfg, Telemetry(cfg, metric_reader=reader), stop=stop,
                                             api_keys={}))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(runner, timeout=3.0)
    return reader


def points(reader: InMemoryMetricReader) -> dict[str, list]:
    found: dict[str, list] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


@pytest.mark.parametrize(("protocol", "concurrency", "limit"), [
    pytest.param("lmstudio", None, 1, id="local-server-one-at-a-time"),
    pytest.param("openai", 2, 2, id="configured-limit"),
    pytest.param("openai", None, 4, id="remote-default-not-reached-by-4-targets"),
])
def test_per_endpoint_concurrency(protocol: str, concurrency: int | None, limit: int,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("prober.loop.random.random", lambda: 0.0)  # no start jitter

    async def scenario() -> int:
        async with Provider(delay=0.25) as provider:
            targets = [{"name": f"t{i}", "protocol": protocol, "base_url": provider.url,
                        "model": "m", "probes": ["completion"], "concurrency": concurrency,
                        "interval": 2.0}
                       for i in range(4)]
            # All four due at once: they collide unless limited. One after the other they take
            # 1 s, so none waits half its 2 s interval (then it would go ahead of the limit).
            await run_for(config(*targets, confirm_delay=5), 1.2)
        assert len(provider.lines) == 4
        return provider.max_in_flight

    assert asyncio.run(scenario()) == limit


def second_probe_fails(seconds: float, **prober: object) -> list[float]:
    """Arrival times of the completion probes of a target (1 s interval) whose second probe
    answers 500, over `seconds` with `prober` settings."""
    def fails_second(n: int, line: str) -> Answer:
        return (500, {}, {"error": {"message": "boom"}}) if n == 1 else always_ok(n, line)

    async def scenario() -> list[float]:
        async with Provider(fails_second) as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["completion"], "interval": 1.0}
            await run_for(config(target, **prober), seconds)
        return provider.arrivals

    return asyncio.run(scenario())


def test_failure_is_confirmed_within_confirm_delay() -> None:
    arrivals = second_probe_fails(3.2, confirm_delay=0.15, doubt_probes=0)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # ok, fail, confirmation 0.15 s later (ok: the blip is cleared; no doubt probes), back on
    # the 1 s slots.
    # A loaded runner adds latency to each hop, so the confirmation is bounded by the delay
    # below and by half the interval above (the next slot would come at 1 s).
    assert gaps[0] == pytest.approx(1.0, abs=0.15)
    assert 0.15 - 0.02 <= gaps[1] < 0.5
    assert arrivals[3] - arrivals[1] == pytest.approx(1.0, abs=0.15)


def test_successes_after_a_failure_come_confirm_delay_apart_until_doubt_ends(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("prober.loop.random.random", lambda: 0.0)  # no start jitter
    arrivals = second_probe_fails(2.3, confirm_delay=0.15, doubt_successes=3)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # ok, fail, then the confirmation and two doubt probes 0.15 s apart (3 successes in a
    # row end the doubt), then back on the 1 s slots: the next comes 1 s after the failure.
    assert all(0.15 - 0.02 <= gap < 0.5 for gap in gaps[1:4]), gaps
    assert arrivals[5] - arrivals[1] == pytest.approx(1.0, abs=0.15)
    assert len(arrivals) == 6


def test_the_kinds_of_a_target_are_spread_over_the_interval() -> None:
    async def scenario() -> list[tuple[float, str]]:
        async with Provider() as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["models", "completion"], "interval": 1.0}
            await run_for(config(target), 2.2)
        return list(zip(provider.arrivals, provider.lines, strict=True))

    seen = asyncio.run(scenario())
    lists = [t for t, line in seen if line.startswith("GET")]
    answers = [t for t, line in seen if line.startswith("POST")]
    assert len(lists) >= 2 and len(answers) >= 2, seen
    # from a random phase, the two kinds run half an interval apart, whichever comes first
    assert abs(answers[0] - lists[0]) == pytest.approx(0.5, abs=0.1)


def test_failures_confirmed_until_the_breaker_would_open() -> None:
    def fails(_n: int, _line: str) -> Answer:
        return 500, {}, {"error": {"message": "boom"}}

    async def scenario() -> list[float]:
        async with Provider(fails) as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["completion"], "interval": 1.0}
            cfg = config(target, confirm_delay=0.1).model_copy(update={
                "aggregator": AggregatorSettings(breaker=BreakerSettings(failures=4))})
            await run_for(cfg, 2.5)
        return provider.arrivals

    arrivals = asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # Failures 2 to 4 follow 0.1 s apart (bounded above by the 1 s slot, which a loaded
    # runner must not reach); the run then continues on the 1 s slots.
    assert all(0.1 - 0.02 <= gap < 0.3 for gap in gaps[:3]), gaps
    assert arrivals[4] - arrivals[0] == pytest.approx(1.0, abs=0.15)


def test_retry_after_is_honoured_and_headroom_exported() -> None:
    def limited_first(n: int, line: str) -> Answer:
        return (429, RATE_LIMITED, {"error": {"message": "slow down"}}) if n == 0 else always_ok(n, line)

    async def scenario() -> tuple[list[float], dict[str, list]]:
        async with Provider(limited_first) as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["completion"], "interval": 0.2}
            reader = await run_for(config(target), 1.6)
        return provider.arrivals, points(reader)

    arrivals, found = asyncio.run(scenario())
    assert arrivals[1] - arrivals[0] == pytest.approx(1.0, abs=0.12)  # not 0.2 s later
    remaining = {p.attributes["llmhealth.ratelimit.resource"]: p.value
                 for p in found["llmhealth.ratelimit.remaining"]}
    assert remaining == {"requests": 0}
    (retry_after,) = found["llmhealth.ratelimit.retry_after"]
    assert retry_after.value == 1.0 and retry_after.attributes["llmhealth.target"] == "t"
    (reset,) = found["llmhealth.ratelimit.reset"]
    assert reset.value == 1.0


def test_budget_degrades_to_models_probe(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="prober")

    async def scenario() -> tuple[list[str], dict[str, list]]:
        async with Provider() as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["completion", "stream"], "interval": 0.2,
                      "daily_token_budget": 15,
                      "price": {"input_per_mtok": 1.0, "output_per_mtok": 1000.0}}
            # The stream probe fails (a JSON answer): keep it on its slots, no confirmations.
            no_confirmation = AggregatorSettings(breaker=BreakerSettings(failures=1))
            cfg = config(target, confirm_delay=5).model_copy(update={"aggregator": no_confirmation})
            reader = await run_for(cfg, 1.3)
        return provider.lines, points(reader)

    lines, found = asyncio.run(scenario())
    posts = [line for line in lines if line.startswith("POST")]
    gets = [line for line in lines if line.startswith("GET /v1/models")]
    # 9 tokens per answer: the second token-spending probe exhausts the budget of 15.
    assert len(posts) == 2, lines
    assert len(gets) >= 2, lines
    budget = [p.value for p in found["llmhealth.probe.token_budget.remaining"]]
    assert budget == [0]
    cost = sum(p.value for p in found["llmhealth.probe.cost"])
    assert cost == pytest.approx(2 * (8 * 1.0 + 1 * 1000.0) / 1e6)
    warnings = [r.getMessage() for r in caplog.records]
    assert any("daily token budget of 15 spent; probing models instead" in m for m in warnings)
    assert any("daily token budget of 15 spent; paused" in m for m in warnings)


def test_self_activity_metrics() -> None:
    async def scenario() -> dict[str, list]:
        async with Provider(delay=0.05) as provider:
            target = {"name": "t", "base_url": f"{provider.url}/v1", "model": "m",
                      "probes": ["completion"], "interval": 0.2}
            return points(await run_for(config(target), 0.7))

    found = asyncio.run(scenario())
    directions = {p.attributes["network.io.direction"]: p.value for p in found["llmhealth.probe.bytes"]}
    assert directions["transmit"] > 100 and directions["receive"] > len(json.dumps(COMPLETION))
    (in_flight,) = found["llmhealth.probe.in_flight"]
    assert in_flight.value == 0  # every probe that started also finished
    (delay,) = found["llmhealth.prober.schedule_delay"]
    assert delay.count >= 2 and delay.max < 0.1
