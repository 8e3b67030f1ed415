"""Hangs and recoveries against the simulator over real HTTP: a hang cut at the first-byte
bound, a stalled stream cut at the gap bound, a slow model never cut, and the free probe
that re-probes backed-off kinds as soon as the target answers again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober import anthropic, ollama, openai
from prober.bounds import Bounds
from prober.budget import tokens_spent
from prober.context import ProbeContext
from prober.outcome import ProbeResult
from simulator.behavior import ModelBehavior
from simulator.scenarios import demo_models
from simulator.server import running
from tests.unit.recorded_loop import Loop

FAST = {"latency_p50": 0.01, "latency_p99": 0.03, "ttft_p50": 0.01, "ttft_p99": 0.03}
HANG = {**FAST, "error_rate": 1.0, "error_kind": "timeout", "hang_seconds": 30.0}
STALL = {**FAST, "error_rate": 1.0, "error_kind": "stream_stall", "hang_seconds": 30.0}
DOWN = {**FAST, "error_rate": 1.0, "error_kind": "http_500"}


def config(base_url: str, names: list[str], **prober: object) -> Config:
    return Config.model_validate({
        "targets": [{"name": name, "base_url": base_url, "model": name, "interval": 0.1,
                     "allow_fast_interval": True, "timeout": 5} for name in names],
        "prober": {"auto_timeout_floor": "300ms", "confirm_delay": "100ms", **prober}})


async def put(base_url: str, name: str, behavior: dict) -> None:
    async with httpx.AsyncClient() as http:
        (await http.put(f"{base_url.removesuffix('/v1')}/_sim/models/{name}",
                        json=behavior)).raise_for_status()


def test_hang_is_cut_at_the_first_byte_bound() -> None:
    async def scenario(base_url: str) -> tuple[list[ProbeResult], float]:
        loop = Loop(config(base_url, ["m"]))
        await asyncio.sleep(1.5)  # at least auto_timeout_samples successes per kind
        await put(base_url, "m", HANG)
        flipped = time.monotonic()
        await asyncio.sleep(2.0)
        await loop.stop()
        return loop.results(flipped + 0.1), flipped

    with running({"m": ModelBehavior(**FAST)}) as base_url:
        results, _ = asyncio.run(scenario(base_url))
    timeouts = [r for r in results if r.outcome == "timeout"]
    assert {r.kind for r in timeouts} == {"completion", "stream"}
    # Cut at the 0.3 s floor (4 × a few ms is less), not at the 5 s timeout; a cut whose timer
    # fired late (this process's own loop held up, `prober.silence`) waits the bound once more.
    assert all(0.29 < r.duration_s < 1.2 for r in timeouts), [r.duration_s for r in timeouts]
    assert all("first-byte bound" in r.detail for r in timeouts), timeouts[0].detail
    assert len(timeouts) >= 4


def test_stalled_stream_is_cut_at_the_gap_bound() -> None:
    async def scenario(base_url: str) -> list[ProbeResult]:
        loop = Loop(config(base_url, ["m"]))
        await asyncio.sleep(1.5)
        await put(base_url, "m", STALL)
        flipped = time.monotonic()
        await asyncio.sleep(2.0)
        await loop.stop()
        return loop.results(flipped + 0.1)

    with running({"m": ModelBehavior(**FAST)}) as base_url:
        results = asyncio.run(scenario(base_url))
    timeouts = [r for r in results if r.outcome == "timeout"]
    assert {r.kind for r in timeouts} == {"completion", "stream"}
    assert all(0.29 < r.duration_s < 1.2 for r in timeouts), [r.duration_s for r in timeouts]  # as above
    assert all("gap bound" in r.detail for r in timeouts), timeouts[0].detail
    assert all(r.chunks == 2 for r in timeouts if r.kind == "stream")


def test_slow_model_is_never_cut() -> None:
    """The demo's slow model (completion p50 3 s, p99 8 s; TTFT p50 2.5 s, p99 6 s) at the
    default bound settings: after the samples that `auto` needs, its bounds are its own."""
    names = [f"slow-{i}" for i in range(4)]

    async def scenario(base_url: str) -> list[ProbeResult]:
        loop = Loop(Config.model_validate({
            "targets": [{"name": name, "base_url": base_url, "model": name, "interval": 1,
                         "probes": ["completion", "stream"]} for name in names]}))
        await asyncio.sleep(32.0)
        await loop.stop()
        return loop.results()

    slow = demo_models()["demo-slow"]
    with running(dict.fromkeys(names, slow), seed=14) as base_url:
        results = asyncio.run(scenario(base_url))
    cut = [r for r in results if r.outcome == "timeout" and "bound" in r.detail]
    assert cut == []
    for name in names:
        for kind in ("completion", "stream"):
            ok = [r for r in results if (r.target, r.kind, r.outcome) == (name, kind, "ok")]
            assert len(ok) >= 6, (name, kind, len(ok))  # probes after the 5th ran under `auto`
    assert max(r.first_byte_s for r in results if r.first_byte_s) > 2.0


@asynccontextmanager
async def simulator_on(port: int, models: dict[str, ModelBehavior]) -> AsyncIterator[str]:
    """The simulator on `port` for the block. It starts on the event loop (the prober's probes
    wait meanwhile, rather than meet a closed port) and stops off it: a stop that blocked the
    loop would freeze the prober's requests in flight, and one whose body the server still
    waits for held its graceful shutdown until the timeout (CI failed on it)."""
    server = running(models, port=port)
    base_url = server.__enter__()
    try:
        yield base_url
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


def test_recovery_reprobes_the_backed_off_kinds_after_the_free_probe() -> None:
    """The endpoint answers 429 to everything for 3 s (a failure that backs off: probing on
    would spend the quota the provider protects): the costly kinds back off (to 20 s), the
    liveness probe fails every 0.1 s; when the endpoint answers again, the liveness probe
    succeeds and the costly kinds are probed at once, not 20 s later."""
    settings = {"backoff_after": 2, "backoff_max": "20s"}
    models = {"m": ModelBehavior(**FAST)}
    with running(models) as base_url:  # an ephemeral port, free again afterwards
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])

    async def whole() -> tuple[Loop, float, float]:
        async with simulator_on(port, models):
            loop = Loop(config(base_url, ["m"], **settings))
            await asyncio.sleep(1.0)
        async with rate_limiting_on(port):
            down = time.monotonic()
            await asyncio.sleep(3.0)
        async with simulator_on(port, models):
            back = time.monotonic()
            await asyncio.sleep(1.5)
            await loop.stop()
        return loop, down, back

    loop, down, back = asyncio.run(whole())
    # Probes started while the endpoint answered 429 (a stream in flight when the first
    # simulator stopped ends as stream_interrupted just after `down`: not one of them).
    during = [r for at, r in loop.telemetry.results
              if r.outcome != "ok" and down <= at - r.duration_s and at < back]
    assert {r.kind for r in during} == {"completion", "stream"}
    assert {r.outcome for r in during} == {"http_429"}
    # Backed off after 2 failures: per kind the confirmation, then gaps of 0.2, 0.4, 0.8, 1.6 s
    # (failures at about 0, 0.1, 0.3, 0.7, 1.5 s and perhaps one more late in the 3 s).
    assert len(during) <= 2 * 6, len(during)
    liveness = [r for at, r in loop.telemetry.liveness if at >= down]
    assert {r.kind for r in liveness} == {"models"}
    assert any(r.outcome != "ok" for r in liveness) and liveness[-1].outcome == "ok"
    first_ok = {kind: min(at for at, r in loop.telemetry.results
                          if at >= back and r.kind == kind and r.outcome == "ok")
                for kind in ("completion", "stream")}
    assert all(at - back < 1.0 for at in first_ok.values()), first_ok
    # The liveness probe is never a probe result of the target's own kinds.
    assert all(r.kind in ("completion", "stream") for r in loop.results())


def test_a_model_whose_chat_fails_keeps_its_slots() -> None:
    """Only the model fails (HTTP 500 on chat; the model list answers): a 500 costs no
    tokens, so the costly kinds keep their slots instead of backing off (the model is seen
    back within an interval), no liveness probe is needed, and nothing is billed."""

    async def scenario(base_url: str) -> tuple[Loop, float]:
        loop = Loop(config(base_url, ["m"], backoff_after=2, backoff_max="20s"))
        await asyncio.sleep(1.0)
        await put(base_url, "m", DOWN)
        flipped = time.monotonic()
        await asyncio.sleep(3.0)
        await loop.stop()
        return loop, flipped

    with running({"m": ModelBehavior(**FAST)}) as base_url:
        loop, flipped = asyncio.run(scenario(base_url))
    failed = [r for r in loop.results(flipped + 0.2) if r.outcome == "http_5xx"]
    # Per kind one probe per 0.1 s slot for 2.8 s; a backoff would have allowed at most 6.
    for kind in ("completion", "stream"):
        assert sum(r.kind == kind for r in failed) >= 15, [r.kind for r in failed]
    assert sum(sum(tokens_spent(r)) for r in failed) == 0
    assert loop.telemetry.liveness == []


@asynccontextmanager
async def rate_limiting_on(port: int) -> AsyncIterator[None]:
    """A server on `port` that answers every request with HTTP 429 (no retry-after)."""
    body = b'{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}'
    response = (b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
                + body)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


PROTOCOLS = {
    "openai": (openai.PROBES, "/v1"),
    "anthropic": (anthropic.PROBES, "/anthropic"),
    "ollama": (ollama.PROBES, "/ollama"),
}


@pytest.mark.parametrize("kind", ["completion", "stream"])
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize(("model", "bounds", "detail"), [
    pytest.param("hang", Bounds(first_byte=0.3), "first-byte bound", id="hang"),
    pytest.param("stall", Bounds(gap=0.3), "gap bound", id="stall"),
])
def test_every_protocol_is_cut_by_its_bounds(protocol: str, kind: str, model: str,
                                             bounds: Bounds, detail: str) -> None:
    probes, prefix = PROTOCOLS[protocol]

    async def probe(root: str) -> ProbeResult:
        target = Target(name="t", protocol=protocol, base_url=root + prefix, model=model)
        async with httpx.AsyncClient() as http:
            ctx = ProbeContext(http, target, api_key=None, timeout=5.0, max_body_bytes=1 << 20,
                               bounds=bounds)
            return await probes[kind](ctx)

    models = {"hang": ModelBehavior(**HANG), "stall": ModelBehavior(**STALL)}
    with running(models) as base_url:
        result = asyncio.run(probe(base_url.removesuffix("/v1")))
    assert result.outcome == "timeout", result.detail
    assert detail in result.detail
    assert 0.29 < result.duration_s < 0.8
