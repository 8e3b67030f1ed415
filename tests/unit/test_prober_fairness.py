"""One hung model does not blind the others: an endpoint's slots are shared fairly.

`EndpointSlots` on its own (who gets a freed slot, the take-over after a waiting probe's
patience, withdrawal), then the real prober loop over real HTTP against the simulator: four
hung models and two healthy ones on one endpoint, with the local limit (1) and the remote
one (8, filled by the hung models' eight probes), where the healthy ones must get a result
well within the aggregator's staleness bound, every time.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.endpoints import WAIT_SHARE, EndpointLimits, EndpointSlots
from prober.loop import run_targets
from prober.outcome import OK, ProbeResult
from prober.telemetry import TEMPORALITY, Telemetry
from simulator.behavior import ModelBehavior
from simulator.server import running

# --- EndpointSlots ------------------------------------------------------------------------


async def _occupy(slots: EndpointSlots, owner: str, release: asyncio.Event, log: list[str],
                  patience: float = 10.0) -> None:
    async with slots.hold(owner, patience):
        log.append(owner)
        await release.wait()


def test_free_slot_goes_to_the_waiting_target_with_fewest_probes_running() -> None:
    async def scenario() -> list[str]:
        slots, got = EndpointSlots("e", 2), []
        hung, first = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(_occupy(slots, "hung", hung, got)),
                 asyncio.create_task(_occupy(slots, "ok", first, got))]
        await asyncio.sleep(0.01)
        # Queued first: the hung target's second kind; then the healthy target's next probe.
        tasks.append(asyncio.create_task(_occupy(slots, "hung", hung, got)))
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(_occupy(slots, "ok", asyncio.Event(), got)))
        await asyncio.sleep(0.01)
        first.set()  # the healthy probe ends: its slot goes to "ok" (nothing running) first
        await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return got

    assert asyncio.run(scenario()) == ["hung", "ok", "ok"]


def test_a_probe_that_waited_its_patience_takes_the_longest_held_slot() -> None:
    async def scenario() -> None:
        slots, got, loop = EndpointSlots("e", 1), [], asyncio.get_running_loop()
        hung = asyncio.Event()
        holder = asyncio.create_task(_occupy(slots, "hung", hung, got))
        await asyncio.sleep(0.01)
        started = loop.time()
        done = asyncio.Event()
        waiter = asyncio.create_task(_occupy(slots, "ok", done, got, patience=0.1))
        queued = asyncio.create_task(_occupy(slots, "late", asyncio.Event(), got))
        await asyncio.sleep(0.15)
        assert got == ["hung", "ok"] and 0.1 <= loop.time() - started
        assert slots.running("hung") == 1  # still running, over the limit
        hung.set()
        await asyncio.sleep(0.01)
        assert got == ["hung", "ok"]  # the overrunning probe's end frees no slot
        done.set()
        await asyncio.sleep(0.01)
        assert got == ["hung", "ok", "late"]
        for task in (holder, waiter, queued):
            task.cancel()
        await asyncio.gather(holder, waiter, queued, return_exceptions=True)
        assert slots.running("late") == 0 and slots.takeovers == 1

    asyncio.run(scenario())


def test_a_cancelled_waiter_is_withdrawn() -> None:
    async def scenario() -> None:
        slots, got = EndpointSlots("e", 1), []
        first = asyncio.Event()
        holder = asyncio.create_task(_occupy(slots, "a", first, got))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(_occupy(slots, "b", asyncio.Event(), got, patience=0.05))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        await asyncio.sleep(0.1)  # its patience would have run out by now: no take-over
        assert slots.takeovers == 0
        first.set()
        await holder
        async with slots.hold("c", 1.0):  # the slot is free again
            assert got == ["a"] and slots.running("c") == 1

    asyncio.run(scenario())


# --- the prober loop against the simulator -----------------------------------------------

INTERVAL = 1.0
TIMEOUT = 3.0
RUN_S = 8.0
HUNG = ModelBehavior(error_rate=1.0, error_kind="timeout", hang_seconds=60.0)
FAST = ModelBehavior(latency_p50=0.01, latency_p99=0.03, ttft_p50=0.01, ttft_p99=0.03)
MODELS = {**{f"hung-{i}": HUNG for i in range(1, 5)}, "ok-1": FAST, "ok-2": FAST}


class RecordingTelemetry(Telemetry):
    """Telemetry into memory that also keeps (monotonic time, result) of every probe."""

    def __init__(self, config: Config) -> None:
        super().__init__(config, metric_reader=InMemoryMetricReader(preferred_temporality=TEMPORALITY))
        self.results: list[tuple[float, ProbeResult]] = []

    def record(self, result: ProbeResult, target: Target, *, cost_usd: float | None = None) -> None:
        self.results.append((time.monotonic(), result))
        super().record(result, target, cost_usd=cost_usd)


def shared_endpoint(root: str, *, local: bool) -> Config:
    """The six models on one host and port; with `local`, the hung ones over Ollama's API,
    which makes the endpoint's limit 1 for the healthy OpenAI-compatible ones too."""
    common = {"interval": INTERVAL, "timeout": TIMEOUT, "allow_fast_interval": True,
              "probes": ["completion", "stream"]}
    hung = [{"name": f"hung-{i}", "model": f"hung-{i}", **common,
             **({"protocol": "ollama", "base_url": f"{root}/ollama"} if local
                else {"base_url": f"{root}/v1"})} for i in range(1, 5)]
    healthy = [{"name": f"ok-{i}", "model": f"ok-{i}", "base_url": f"{root}/v1", **common}
               for i in (1, 2)]
    return Config.model_validate({"targets": hung + healthy})


@pytest.mark.parametrize(("local", "limit"), [
    pytest.param(True, 1, id="local-limit-1"),
    pytest.param(False, 8, id="remote-limit-8-filled-by-hung-probes"),
])
def test_hung_models_do_not_blind_the_healthy_ones(local: bool, limit: int) -> None:
    async def scenario(root: str) -> tuple[Config, RecordingTelemetry, float, float]:
        config = shared_endpoint(root, local=local)
        telemetry = RecordingTelemetry(config)
        stop = asyncio.Event()
        started = time.monotonic()
        runner = asyncio.create_task(run_targets(config, telemetry, stop=stop, api_keys={}))
        await asyncio.sleep(RUN_S)
        stop.set()
        await asyncio.wait_for(runner, timeout=3)
        return config, telemetry, started, time.monotonic()

    with running(MODELS) as base:
        config, telemetry, started, ended = asyncio.run(scenario(base.removesuffix("/v1")))

    assert EndpointLimits(config).size(config.targets[-1]) == limit
    # A healthy probe waits at most WAIT_SHARE of its interval for a slot, so its results come
    # at most (1 + WAIT_SHARE) intervals plus a probe's duration apart: assert 2 intervals,
    # which leaves room for a loaded runner and is still well inside the 3 intervals without
    # a result that make the aggregator call a target unknown (aggregator.stale_intervals).
    bound = 2 * INTERVAL
    assert (1 + WAIT_SHARE) * INTERVAL < bound < config.aggregator.stale_intervals * INTERVAL
    for name, kind in itertools.product(("ok-1", "ok-2"), ("completion", "stream")):
        results = [(at, r) for at, r in telemetry.results if (r.target, r.kind) == (name, kind)]
        assert all(r.outcome == OK for _, r in results), [r for _, r in results]
        times = [started, *(at for at, _ in results), ended]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= bound, (name, kind, [round(g, 2) for g in gaps])
    # The hung models are not starved either: every probe kind of each timed out.
    for name, kind in itertools.product((f"hung-{i}" for i in range(1, 5)), ("completion", "stream")):
        outcomes = [r.outcome for _, r in telemetry.results if (r.target, r.kind) == (name, kind)]
        assert outcomes and set(outcomes) == {"timeout"}, (name, kind, outcomes)
