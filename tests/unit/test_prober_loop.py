"""The probe schedule: fixed cadence, isolation between targets, prompt stop, no key leaks."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.loop import run_targets
from prober.telemetry import TEMPORALITY, Telemetry
from tests.unit.raw_http import FakeServer, headers_of

SECRET = "sk-test-SECRET123"

# Chat completion object: https://platform.openai.com/docs/api-reference/chat/object
COMPLETION = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Pong"}, "finish_reason": "length"}
    ],
    "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
}


class Provider(FakeServer):
    """A chat endpoint that answers each request after `delay` seconds (never when `delay` is
    None) and records when requests arrive. With `echo_key` it answers 401 and echoes the
    Authorization header, as a hostile or careless provider might."""

    def __init__(self, delay: float | None = 0.0, *, echo_key: bool = False) -> None:
        super().__init__(Provider._answer)
        self.delay = delay
        self.echo_key = echo_key
        self.arrivals: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _body = await self.read_request(reader)
        self.arrivals.append(asyncio.get_running_loop().time())
        if self.delay is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        status, body = 200, COMPLETION
        if self.echo_key:
            authorization = headers_of(head).get("authorization")
            message = f"Incorrect API key provided: {authorization}"
            status, body = 401, {"error": {"message": message, "type": "invalid_request_error"}}
        payload = json.dumps(body).encode()
        await self.send(writer,
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)


def target(
    name: str, provider: Provider, *, interval: float, probes: tuple[str, ...] = ("completion",)
) -> Target:
    return Target(
        name=name,
        base_url=provider.url,
        model="m",
        probes=list(probes),
        interval=interval,
        allow_fast_interval=True,
        timeout=1.0,
    )


def data_points(reader: InMemoryMetricReader) -> list[tuple[str, object]]:
    """(metric name, point) for every point collected since the last collection."""
    return [
        (metric.name, point)
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    ]


def outcome_counts(points: list[tuple[str, object]]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for name, point in points:
        if name == "llmhealth.probe.outcomes":
            attributes = point.attributes
            key = (attributes["llmhealth.target"], attributes["llmhealth.probe.outcome"])
            counts[key] = counts.get(key, 0) + point.value
    return counts


async def run_for(
    config: Config, seconds: float, api_keys: dict
) -> tuple[InMemoryMetricReader, float]:
    """Run the loop for `seconds`; return the reader and how long stopping took."""
    reader = InMemoryMetricReader(preferred_temporality=TEMPORALITY)
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_targets(config, Telemetry(config, metric_reader=reader), stop=stop, api_keys=api_keys)
    )
    await asyncio.sleep(seconds)
    clock = asyncio.get_running_loop()
    stopping = clock.time()
    stop.set()
    await asyncio.wait_for(runner, timeout=2.0)
    return reader, clock.time() - stopping


def test_cadence_isolation_and_prompt_stop() -> None:
    async def scenario() -> None:
        async with Provider(None) as hang, Provider(0.1) as fast, Provider(0.45) as slow:
            config = Config(
                targets=[
                    target("hang", hang, interval=0.3),
                    target("fast", fast, interval=0.3),
                    target("slow", slow, interval=0.3),
                ]
            )
            reader, stop_latency = await run_for(
                config, 2.4, {"hang": None, "fast": None, "slow": None}
            )
        # A fixed cadence: starts 0.3 s apart although each probe takes 0.1 s.
        fast_gaps = [b - a for a, b in zip(fast.arrivals, fast.arrivals[1:], strict=False)]
        assert len(fast.arrivals) >= 6, fast.arrivals
        assert statistics.mean(fast_gaps) == pytest.approx(0.3, abs=0.03)
        assert all(0.2 < gap < 0.4 for gap in fast_gaps), fast_gaps
        # A probe that overruns its 0.3 s slot skips the missed slot: starts 0.6 s apart.
        slow_gaps = [b - a for a, b in zip(slow.arrivals, slow.arrivals[1:], strict=False)]
        assert slow_gaps and all(0.5 < gap < 0.7 for gap in slow_gaps), slow_gaps
        # The hanging target times out on its own schedule without delaying the others.
        assert 1 <= len(hang.arrivals) <= 3
        counts = outcome_counts(data_points(reader))
        assert counts[("hang", "timeout")] >= 1
        assert counts[("fast", "ok")] >= 6
        assert stop_latency < 0.3

    asyncio.run(scenario())


def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> InMemoryMetricReader:
        async with Provider(echo_key=True) as provider:
            config = Config(
                targets=[target("leaky", provider, interval=0.2, probes=("completion", "stream"))]
            )
            reader, _ = await run_for(config, 0.6, {"leaky": SECRET})
        return reader

    reader = asyncio.run(scenario())
    failures = [r.getMessage() for r in caplog.records if "outcome=auth" in r.getMessage()]
    assert failures and all("[redacted]" in message for message in failures)
    for record in caplog.records:
        assert "SECRET123" not in record.getMessage()
        assert "SECRET123" not in repr(record.args)
    points = data_points(reader)
    assert outcome_counts(points)[("leaky", "auth")] >= 2
    for _, point in points:
        assert "SECRET123" not in repr(dict(point.attributes))
