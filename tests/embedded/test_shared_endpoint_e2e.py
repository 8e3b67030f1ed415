"""One hung model does not blind the others, end to end: `llmhealth run` probes four hung and
two healthy models on each of two simulators, one whose limit is the local one (1: the hung
models are Ollama targets on the same host and port) and one whose remote limit (8) the hung
models' eight probes fill. Every snapshot of the healthy targets stays `healthy`, never
`unknown`, from their first one on, at every instant the aggregator evaluated."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from harness.pipeline import query, running_pipeline
from simulator.behavior import ModelBehavior
from simulator.server import running

pytestmark = [pytest.mark.embedded, pytest.mark.long]
INTERVAL_S = 2
TIMEOUT_S = 5  # the hung models hang for a minute: every probe of theirs runs to its timeout
WATCH_S = 40
START_DEADLINE_S = 45
HUNG = ModelBehavior(error_rate=1.0, error_kind="timeout", hang_seconds=60.0)
FAST = ModelBehavior(latency_p50=0.01, latency_p99=0.03, ttft_p50=0.01, ttft_p99=0.03)
MODELS = {**{f"hung-{i}": HUNG for i in range(1, 5)}, "ok-1": FAST, "ok-2": FAST}
HEALTHY = ["local-ok-1", "local-ok-2", "remote-ok-1", "remote-ok-2"]


def _targets(prefix: str, root: str, *, local: bool) -> list[dict]:
    common = {"interval": INTERVAL_S, "timeout": TIMEOUT_S, "probes": ["completion", "stream"]}
    hung = [{"name": f"{prefix}-hung-{i}", "model": f"hung-{i}", **common,
             **({"protocol": "ollama", "base_url": f"{root}/ollama"} if local
                else {"base_url": f"{root}/v1"})} for i in range(1, 5)]
    return hung + [{"name": f"{prefix}-ok-{i}", "model": f"ok-{i}", "base_url": f"{root}/v1",
                    **common} for i in (1, 2)]


def _snapshots(pipeline: dict) -> list[dict]:
    return query(pipeline, """SELECT target, status, reason, evaluated_at FROM health_snapshots FINAL
                              WHERE kind = 'target' AND has({t:Array(String)}, target)
                              ORDER BY evaluated_at, target""", {"t": HEALTHY})


def _instants(pipeline: dict) -> list[str]:
    """Every instant the aggregator evaluated: a loaded one skips some (docs/health-model.md)."""
    return [r["evaluated_at"] for r in query(pipeline, """
        SELECT DISTINCT evaluated_at FROM health_snapshots FINAL
        WHERE kind = 'target' ORDER BY evaluated_at""")]


def _healthy_once(pipeline: dict) -> set[str]:
    try:
        return {r["target"] for r in _snapshots(pipeline) if r["status"] == "healthy"}
    except httpx.HTTPError:
        return set()  # the store is still starting


def _span_s(instants: list[str]) -> float:
    first, last = (datetime.fromisoformat(i) for i in (instants[0], instants[-1]))
    return (last - first).total_seconds()


def test_healthy_targets_stay_healthy_beside_hung_ones(tmp_path) -> None:
    with running(MODELS) as local, running(MODELS) as remote:
        targets = (_targets("local", local.removesuffix("/v1"), local=True)
                   + _targets("remote", remote.removesuffix("/v1"), local=False))
        with running_pipeline(tmp_path, {"targets": targets}) as pipeline:
            while _healthy_once(pipeline) != set(HEALTHY):
                assert pipeline["process"].poll() is None, pipeline["log"].read_text()
                assert time.monotonic() - pipeline["started"] < START_DEADLINE_S, (
                    _healthy_once(pipeline), pipeline["log"].read_text()[-3000:])
                time.sleep(0.25)
            time.sleep(WATCH_S)
            rows = _snapshots(pipeline)
            instants = _instants(pipeline)
            log = pipeline["log"].read_text()
    for target in HEALTHY:
        statuses = [r for r in rows if r["target"] == target]
        first = next(i for i, r in enumerate(statuses) if r["status"] == "healthy")
        after = statuses[first:]
        since = instants[instants.index(after[0]["evaluated_at"]):]
        assert [r["evaluated_at"] for r in after] == since, (target, len(after), len(since))
        assert _span_s(since) >= WATCH_S / 2, (target, since)  # the watch was evaluated
        assert all(r["status"] == "healthy" for r in after), (
            target, [(r["evaluated_at"], r["status"], r["reason"]) for r in after
                     if r["status"] != "healthy"])
    assert "endpoint http://127.0.0.1" in log and "takes the slot of target=" in log
