"""Local discovery end to end against the simulator's Ollama and LM Studio APIs: models that
appear get probe loops, models that disappear lose them, an unreachable server is a failing
`models` probe that is retried, and every change is logged and counted."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmhealth_config.model import Config
from prober.loop import run_targets
from prober.telemetry import TEMPORALITY, Telemetry
from simulator.behavior import ModelBehavior
from simulator.server import running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collect(reader: InMemoryMetricReader) -> dict[str, list]:
    found: dict[str, list] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


@pytest.mark.parametrize(("protocol", "prefix", "name_of"), [
    pytest.param("ollama", "/ollama", lambda m: f"{m}:latest", id="ollama"),
    pytest.param("lmstudio", "/lmstudio", lambda m: m, id="lmstudio"),
])
def test_models_appear_and_disappear(protocol: str, prefix: str, name_of,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="prober")
    models = {"alpha": ModelBehavior(), "beta": ModelBehavior()}

    async def scenario(base: str) -> dict[str, list]:
        root = base.removesuffix("/v1")
        config = Config.model_validate({
            "targets": [
                {"name": "local", "protocol": protocol, "base_url": root + prefix,
                 "discover": True, "probes": ["completion"], "interval": 0.2, "timeout": 2,
                 "allow_fast_interval": True},
                {"name": "gone", "protocol": protocol, "discover": True, "timeout": 1,
                 "base_url": f"http://127.0.0.1:{closed_port()}", "allow_fast_interval": True},
            ],
            "prober": {"discovery_interval": 0.3}})
        reader = InMemoryMetricReader(preferred_temporality=TEMPORALITY)
        stop = asyncio.Event()
        runner = asyncio.create_task(run_targets(
            config, Telemetry(config, metric_reader=reader), stop=stop, api_keys={}))
        await asyncio.sleep(0.8)
        async with httpx.AsyncClient(base_url=root) as sim:
            (await sim.put("/_sim/models/gamma", json={})).raise_for_status()
            (await sim.delete("/_sim/models/alpha")).raise_for_status()
        await asyncio.sleep(0.8)
        stop.set()
        await asyncio.wait_for(runner, timeout=3)
        return collect(reader)

    with running(models) as base:
        found = asyncio.run(scenario(base))

    alpha, beta, gamma = name_of("alpha"), name_of("beta"), name_of("gamma")
    changes = {(p.attributes["gen_ai.request.model"], p.attributes["llmhealth.discovery.change"])
               for p in found["llmhealth.discovery.changes"]}
    assert {(alpha, "appeared"), (beta, "appeared"), (gamma, "appeared"),
            (alpha, "disappeared")} <= changes
    outcomes = {(p.attributes["llmhealth.target"], p.attributes["llmhealth.probe.kind"],
                 p.attributes["llmhealth.probe.outcome"]) for p in found["llmhealth.probe.outcomes"]}
    for model in (alpha, beta, gamma):
        assert (f"local/{model}", "completion", "ok") in outcomes, outcomes
    assert ("local", "models", "ok") in outcomes
    assert ("gone", "models", "connect") in outcomes
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any(f"discovery on local: model {gamma} appeared" in m for m in messages)
    first = next(m for m in messages if m.startswith("discovery on local ("))
    assert f"2 models: {alpha}, {beta}" in first
    assert first.startswith("discovery on local (ollama 0.") if protocol == "ollama" \
        else first.startswith("discovery on local (lmstudio)")
    assert any(f"discovery on local: model {alpha} disappeared" in m for m in messages)
    # Retried every round; the first failure is a warning, the repeats are debug lines.
    gone = [(r.levelno, r.getMessage()) for r in caplog.records
            if r.getMessage().startswith("discovery on gone (http://127.0.0.1:")]
    assert gone[0][0] == logging.WARNING and "outcome=connect" in gone[0][1], gone
    assert "started failing" in gone[0][1]
    assert len(gone) >= 2 and all(level == logging.DEBUG for level, _ in gone[1:]), gone


def test_load_state_and_vram_gauges() -> None:
    async def scenario(base: str) -> dict[str, list]:
        root = base.removesuffix("/v1")
        config = Config.model_validate({
            "targets": [{"name": "local", "protocol": "ollama", "base_url": root + "/ollama",
                         "discover": True, "probes": ["completion"], "interval": 0.2,
                         "allow_fast_interval": True}],
            "prober": {"discovery_interval": 0.3}})
        reader = InMemoryMetricReader(preferred_temporality=TEMPORALITY)
        stop = asyncio.Event()
        runner = asyncio.create_task(run_targets(
            config, Telemetry(config, metric_reader=reader), stop=stop, api_keys={}))
        await asyncio.sleep(1.0)  # completion probes load the model; discovery sees it loaded
        stop.set()
        await asyncio.wait_for(runner, timeout=3)
        return collect(reader)

    with running({"alpha": ModelBehavior()}) as base:
        found = asyncio.run(scenario(base))
    (loaded,) = found["llmhealth.model.loaded"]
    assert loaded.value == 1 and loaded.attributes["gen_ai.request.model"] == "alpha:latest"
    (vram,) = found["llmhealth.model.vram"]
    assert vram.value > 0
    changes = {p.attributes["llmhealth.discovery.change"] for p in found["llmhealth.discovery.changes"]}
    assert "loaded" in changes  # not loaded at the first round, loaded after the first probe
