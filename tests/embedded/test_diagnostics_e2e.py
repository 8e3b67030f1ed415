"""Diagnostics end to end: `llmhealth run` probes a model that hangs (its probe runs to a 40 s
timeout) and one that answers, on a simulator of the test's own. The prober's `GET /activity`
and the aggregator's `/api/diagnostics` show the hung probe in flight, running, its duration
growing between two reads; the collector and the store answer, the storage lag is a few seconds
and the aggregator reports its last cycle; `llmhealth activity` prints the table and exits 0,
and with `--watch` redraws until Ctrl-C, then exits 0. `llmhealth run` refuses to start when
the prober's port is taken, naming the flag and the setting."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.pipeline import cli, running_pipeline
from harness.ports import free_ports
from simulator.behavior import ModelBehavior
from simulator.server import running

pytestmark = pytest.mark.embedded
HUNG = ModelBehavior(error_rate=1.0, error_kind="timeout", hang_seconds=120.0)
FAST = ModelBehavior(latency_p50=0.01, latency_p99=0.03, ttft_p50=0.01, ttft_p99=0.03)
START_S = 40
LAG_MAX_S = 10  # a probe finishes every 2 s, exported within 1 s, the collector's batches
WATCH_S = 4.0


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The pipeline once the prober has finished a probe of `answers` and the store holds it."""
    with running({"hung": HUNG, "fast": FAST}) as base_url:
        common = {"base_url": base_url, "probes": ["completion"]}
        targets = [{"name": "hangs", "model": "hung", "interval": 5, "timeout": 40, **common},
                   {"name": "answers", "model": "fast", "interval": 2, **common}]
        with running_pipeline(tmp_path_factory.mktemp("diagnostics"), {"targets": targets}) as run:
            while not _ready(answer := _diagnostics(run)):
                assert run["process"].poll() is None, run["log"].read_text()
                assert time.monotonic() - run["started"] < START_S, (
                    answer, run["log"].read_text()[-3000:])
                time.sleep(0.5)
            yield run


def _diagnostics(run: dict) -> dict | str:
    """The answer of `/api/diagnostics`, or what came instead."""
    try:
        response = httpx.get(f"{run['api']}api/diagnostics", timeout=10)
    except httpx.HTTPError as exc:
        return repr(exc)
    return response.json() if response.status_code == 200 else f"{response.status_code} {response.text}"


def _ready(body: dict | str) -> bool:
    if not isinstance(body, dict):
        return False
    prober = body["prober"]
    hung = [p for p in prober["in_flight"] if p["target"] == "hangs"]
    answered = [t for t in prober["targets"] if t["target"] == "answers" and t["finished"]]
    return bool(hung and answered and body["store"]["lag_s"] is not None)


def _hung(prober: dict) -> dict:
    [probe] = [p for p in prober["in_flight"] if p["target"] == "hangs"]
    return probe


def test_the_prober_lists_the_hung_probe_with_a_growing_duration(pipeline: dict) -> None:
    first = _hung(httpx.get(pipeline["prober"], timeout=5).json())
    time.sleep(1.5)
    second = _hung(httpx.get(pipeline["prober"], timeout=5).json())
    assert (second["kind"], second["state"], second["started_at"]) == (
        "completion", "running", first["started_at"])
    assert second["duration_s"] >= first["duration_s"] + 1.0
    assert second["bytes_sent"] > 0


def test_api_diagnostics_shows_the_whole_pipeline(pipeline: dict) -> None:
    url = f"{pipeline['api']}api/diagnostics"
    first = httpx.get(url, timeout=10).json()
    time.sleep(1.5)
    body = httpx.get(url, timeout=10).json()
    hung = _hung(body["prober"])
    assert hung["duration_s"] >= _hung(first["prober"])["duration_s"] + 1.0
    assert hung["endpoint"].startswith("http://127.0.0.1:")
    answers = next(t for t in body["prober"]["targets"] if t["target"] == "answers")
    assert answers["last"][0]["outcome"] == "ok"
    assert body["prober"]["export"]["taken"] is True
    assert body["collector"]["reachable"] is True
    assert body["store"]["reachable"] is True
    assert 0 <= body["store"]["lag_s"] < LAG_MAX_S
    cycle = body["aggregator"]
    assert cycle["last_cycle_ms"] is not None and cycle["last_evaluated_at"] is not None
    light = httpx.get(f"{url}/activity", timeout=10).json()
    assert set(light) == {"at", "prober"} and _hung(light["prober"])["state"] == "running"


def test_llmhealth_activity_prints_the_table(pipeline: dict) -> None:
    result = cli("activity", "--url", pipeline["api"], "--config", str(pipeline["config"]))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "probes in flight" in out and "hangs" in out and "running" in out
    assert "answers" in out and "completion ok" in out


def test_llmhealth_activity_watch_redraws_until_interrupted(pipeline: dict) -> None:
    watch = subprocess.Popen([sys.executable, "-m", "llmhealth", "activity", "--watch",
                              "--interval", "0.5s", "--url", pipeline["api"]],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(WATCH_S)
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=10)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0 and "Traceback" not in err, err
    assert out.count("probes in flight") >= 2  # one view per read, printed one after another


def test_run_refuses_a_taken_prober_port(tmp_path: Path) -> None:
    store, grpc, http, simulator, api = free_ports(5)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("run", "--data-dir", str(tmp_path / "data"), "--store-port", str(store),
                     "--otlp-grpc-port", str(grpc), "--otlp-http-port", str(http),
                     "--simulator-port", str(simulator), "--api-port", str(api),
                     "--prober-port", str(port))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 (prober activity endpoint) is already in use" in result.stderr
    assert "--prober-port, LLMHEALTH_PROBER__HTTP_PORT or prober.http_port" in " ".join(
        result.stderr.split())
