"""The real pipeline for end-to-end benchmarks: `llmhealth run` (store, rotel, prober,
aggregator) with explicit targets, each a simulator model behind its own TCP forwarder.

The simulator runs as its own process (`llmhealth simulate --scenario`), so a model's
behaviour changes at run time with `PUT /_sim/models/{name}`; the forwarders (`bench.forwarder`)
turn a target's endpoint off and on. Ports are ephemeral, data lives in the given temporary
directory, and every process started here is stopped (its whole tree) on exit.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import yaml

from aggregator.store.params import encode_params
from bench.forwarder import Forwarders
from harness.pipeline import running_pipeline
from harness.ports import free_ports
from llmhealth.run import tether

HEALTHY: dict = {}
"""A model's behaviour with every field at its default: fast, no faults."""


@dataclass
class Pipeline:
    url: str
    simulator: str
    forwarders: Forwarders
    process: subprocess.Popen
    log: Path
    client: httpx.Client
    auth: tuple[str, str]
    api: str
    """The aggregator's HTTP API (`GET /metrics`, `/api/health/…`), ending in `/`."""
    otlp: str = ""
    """The collector's OTLP/gRPC endpoint (`http://127.0.0.1:PORT`), for applications' traffic."""

    def query(self, text: str, params: dict | None = None) -> list[dict]:
        """Rows of `text` over the store's ClickHouse HTTP endpoint (JSONEachRow)."""
        request = {"database": "llmhealth", "default_format": "JSONEachRow"}
        request.update({f"param_{k}": v for k, v in encode_params(params).items()})
        response = self.client.post(self.url, params=request, content=text.encode(), auth=self.auth,
                                    timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"store answered {response.status_code}: {response.text[:500]}")
        return [json.loads(line) for line in response.text.splitlines()]

    def statuses(self) -> dict[str, str]:
        """Target → status of its latest snapshot."""
        return {r["target"]: r["status"] for r in self.query("SELECT target, status FROM health_latest")}

    def set_behavior(self, name: str, behavior: dict) -> None:
        self.client.put(f"{self.simulator}/_sim/models/{name}", json=behavior, timeout=10).raise_for_status()

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"llmhealth run exited with {self.process.returncode}:\n"
                               f"{self.log.read_text()[-3000:]}")

    def run_for(self, minutes: float, log: Callable[[str], None], label: str) -> None:
        """Let the pipeline run `minutes`, checking every 5 s that it is alive and logging
        progress every 10 min as `label`."""
        started = time.time()
        deadline = time.monotonic() + minutes * 60
        next_log = time.monotonic() + 600
        while time.monotonic() < deadline:
            self.alive()
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= next_log:
                log(f"  {label}: {(time.time() - started) / 60:.0f} of {minutes:g} min")
                next_log += 600


@contextmanager
def pipeline(work: Path, models: dict[str, dict], settings: dict | None = None,
             target_settings: dict[str, dict] | None = None) -> Iterator[Pipeline]:
    """Start the simulator with `models` (name → ModelBehavior fields), one forwarder and one
    target per model (default probes and interval, plus the model's `target_settings`), and
    `llmhealth run` with `settings` merged into its config; yields once the store answers."""
    work.mkdir(parents=True, exist_ok=True)
    scenario = work / "models.yaml"
    scenario.write_text(yaml.safe_dump({"models": models}))
    (sim_port,) = free_ports(1)
    with (work / "simulator.log").open("w") as sim_log:
        simulator = subprocess.Popen(
            tether.command([sys.executable, "-m", "llmhealth", "simulate", "--port", str(sim_port),
                            "--scenario", str(scenario)]),
            stdout=subprocess.DEVNULL, stderr=sim_log)
    client = httpx.Client()
    try:
        _wait(client, f"http://127.0.0.1:{sim_port}/v1/models")
        with Forwarders(models, sim_port) as forwarders:
            targets = [{"name": name, "base_url": f"http://127.0.0.1:{forwarders.ports[name]}/v1",
                        "model": name, "provider": "llmhealth-simulator",
                        **(target_settings or {}).get(name, {})} for name in models]
            with running_pipeline(work, {"targets": targets, **(settings or {})}) as info:
                grpc = yaml.safe_load(info["config"].read_text())["collector"]["grpc_port"]
                pipe = Pipeline(info["url"], f"http://127.0.0.1:{sim_port}", forwarders,
                                info["process"], info["log"], client, info["auth"], info["api"],
                                f"http://127.0.0.1:{grpc}")
                _wait(client, f"{info['url']}ping", process=info["process"])
                try:
                    yield pipe
                finally:
                    _stop(info["process"])
    finally:
        client.close()
        _stop(simulator)


def _wait(client: httpx.Client, url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            client.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def _stop(process: subprocess.Popen) -> None:
    """SIGINT (a clean stop of `llmhealth run` and its children), then kill what is left of
    the process tree."""
    if process.poll() is not None:
        return
    tree = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _gone, alive = psutil.wait_procs(tree, timeout=5)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=5)
