"""One prober process with many targets against the simulator: CPU, peak RSS, schedule
jitter and probes/s.

The simulator and the prober run as child processes (`llmhealth simulate`, `llmhealth
probe`); the prober exports to an in-process OTLP receiver (`bench.otlp_sink`), which reads
the prober's own `llmhealth.prober.schedule_delay` histogram (how late each probe started
against its planned instant) and the outcome counts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import yaml

from bench import otlp_sink
from harness.ports import free_ports

WARMUP_S = 10.0  # one interval for the start jitter to spread, plus connection set-up


def measure(work_dir: Path, targets: int = 1000, interval: float = 5.0, seconds: float = 60.0,
            probes: tuple[str, ...] = ("completion",)) -> dict:
    sim_port, grpc_port, activity_port = free_ports(3)
    config = work_dir / "bench-prober.yaml"
    config.write_text(yaml.safe_dump({
        "targets": [{"name": f"bench-{i:04d}", "base_url": f"http://127.0.0.1:{sim_port}/v1",
                     "model": "demo-healthy", "provider": "llmhealth-simulator",
                     "probes": list(probes), "interval": interval} for i in range(targets)],
        "collector": {"grpc_port": grpc_port},
        "prober": {"export_interval": 2, "endpoint_concurrency": targets * len(probes),
                   "http_port": activity_port}}))
    server, sink = otlp_sink.serve(grpc_port)
    cli = [sys.executable, "-m", "llmhealth"]
    simulator = subprocess.Popen([*cli, "simulate", "--port", str(sim_port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_http(f"http://127.0.0.1:{sim_port}/v1/models")
    prober = subprocess.Popen([*cli, "prober", "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process = psutil.Process(prober.pid)
    try:
        time.sleep(WARMUP_S)
        sink.reset()
        cpu0, t0, peak = sum(process.cpu_times()[:2]), time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.25)
        cpu1, t1 = sum(process.cpu_times()[:2]), time.monotonic()
        sim_cpu = sum(psutil.Process(simulator.pid).cpu_times()[:2])
    finally:
        prober.terminate()
        prober.wait(15)
        simulator.terminate()
        simulator.wait(15)
        server.stop(1)
    p50, p99, worst = sink.delay_quantiles(0.5, 0.99, 1.0)
    finished = sum(sink.outcomes.values())
    return {"targets": targets, "interval": interval, "probes": probes, "seconds": t1 - t0,
            "cpu_cores": (cpu1 - cpu0) / (t1 - t0), "peak_rss_mb": peak / 2**20,
            "jitter_p50_ms": p50 * 1000, "jitter_p99_ms": p99 * 1000, "jitter_max_ms": worst * 1000,
            "probes_per_s": finished / (t1 - t0), "expected_per_s": targets * len(probes) / interval,
            "ok_share": sink.outcomes["ok"] / finished if finished else 0.0,
            "simulator_cpu_s": sim_cpu}


def _wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(measure(Path(tmp), seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 30.0))
