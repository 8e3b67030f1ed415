"""The production topology without Docker: `llmhealth store`, `llmhealth collector`,
`llmhealth prober` and `llmhealth aggregator --store-url …` as four processes on ephemeral
ports (the simulator as a fifth), as the compose stack runs them. Statuses are read through
SQL; then the aggregator is killed (SIGKILL) and the collector stopped and both restarted,
`llmhealth check` says the aggregator is dead, its missed instants are backfilled after its
restart, and no probe count is missing (the store holds every probe the prober finished)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from aggregator.store.http import HttpStore
from harness.ports import free_ports
from llmhealth.run import tether

pytestmark = [pytest.mark.embedded, pytest.mark.long]
PASSWORD = "topology-test-password"
INTERVAL_S = 2.0  # aggregator.interval
START_S = 60
BACKFILL_S = 180  # 0.5 s per instant idle; 5 s on a 2-core machine running 8 busy processes


class Parts:
    """The parts' processes, each started with the same config file and environment."""

    def __init__(self, tmp: Path, config: Path, env: dict[str, str]) -> None:
        self.tmp, self.config, self.env = tmp, config, env
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("a")
        self._logs.append(log)
        argv = [sys.executable, "-m", "llmhealth", *args]
        proc = subprocess.Popen(tether.command(argv), stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.tmp)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"== {name}\n{self.log(name)[-3000:]}" for name in self.procs)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        proc = self.procs[name]
        proc.send_signal(sig)
        return proc.wait(20)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()


@contextmanager
def parts(tmp: Path) -> Iterator[tuple[Parts, dict]]:
    store_port, grpc_port, http_port, sim_port, api_port, prober_port = free_ports(6)
    base = f"http://127.0.0.1:{sim_port}/v1"
    config = tmp / "llmhealth.yaml"
    config.write_text(yaml.safe_dump({
        "targets": [{"name": "up", "base_url": base, "model": "demo-healthy", "interval": 1,
                     "allow_fast_interval": True},
                    {"name": "down", "base_url": base, "model": "demo-down", "interval": 1,
                     "allow_fast_interval": True}],
        "store": {"data_dir": str(tmp / "data"), "http_port": store_port},
        "collector": {"grpc_port": grpc_port, "http_port": http_port},
        "prober": {"heartbeat_file": str(tmp / "prober.heartbeat"), "http_port": prober_port},
        "aggregator": {"interval": INTERVAL_S, "http_port": api_port}}))
    env = {**os.environ, "LLMHEALTH_CONFIG": str(config), "LLMHEALTH_STORE_PASSWORD": PASSWORD}
    running = Parts(tmp, config, env)
    try:
        yield running, {"store": store_port, "simulator": sim_port}
    finally:
        running.close()


def wait_for(what: str, check: Callable[[], bool], running: Parts, deadline_s: float = START_S) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        for name, proc in running.procs.items():
            assert proc.poll() is None, f"{name} exited ({proc.returncode}) waiting for {what}\n{running.logs()}"
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s} s\n{running.logs()}"
        time.sleep(0.3)


def check(running: Parts, component: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmhealth", "check", "--component", component],
                          env=running.env, capture_output=True, text=True, timeout=30, check=False)


def stored_probes(store: HttpStore, target: str) -> int:
    rows = store.rows("""SELECT toUInt64(sum(Value)) AS n FROM otel_metrics_sum
                         WHERE MetricName = 'llmhealth.probe.outcomes'
                           AND Attributes['llmhealth.target'] = {t:String}""", {"t": target})
    return int(rows[0]["n"] or 0)


def backfilled(store: HttpStore, missed: range) -> dict[str, int]:
    """Per target, how many of the aligned instants `missed` (multiples of INTERVAL_S) have a
    snapshot."""
    rows = store.rows("""
        SELECT target, count(DISTINCT evaluated_at) AS instants
        FROM health_snapshots FINAL
        WHERE kind = 'target' AND evaluated_at BETWEEN {first:DateTime64(3, 'UTC')}
                                                   AND {last:DateTime64(3, 'UTC')}
        GROUP BY target""", {"first": datetime.fromtimestamp(missed[0] * INTERVAL_S, UTC),
                             "last": datetime.fromtimestamp(missed[-1] * INTERVAL_S, UTC)})
    return {r["target"]: int(r["instants"]) for r in rows}


def test_four_parts_as_processes_survive_restarts(tmp_path: Path) -> None:
    with parts(tmp_path) as (running, where):
        running.start("simulator", "simulate", "--port", str(where["simulator"]))
        running.start("store", "store")
        wait_for("the store answers", lambda: check(running, "store").returncode == 0, running)
        store = HttpStore(f"http://127.0.0.1:{where['store']}/", "default", PASSWORD, "llmhealth",
                          where="test store", password_hint="test")
        running.start("aggregator", "aggregator",
                      "--store-url", f"http://default@127.0.0.1:{where['store']}/")
        wait_for("migrations applied", lambda: "schema: applied" in running.log("aggregator"), running)
        running.start("collector", "collector")
        running.start("prober", "prober", "--log-level", "debug")

        def status(target: str) -> str:
            rows = store.rows("SELECT status FROM health_latest FINAL WHERE target = {t:String}",
                              {"t": target})
            return rows[0]["status"] if rows else ""

        wait_for("down unhealthy, up healthy",
                 lambda: status("down") == "unhealthy" and status("up") == "healthy", running)
        for component in ("store", "aggregator", "prober"):
            result = check(running, component)
            assert result.returncode == 0, (component, result.stdout, result.stderr)

        # The aggregator dies without warning and comes back; the collector stops and comes back.
        running.stop("aggregator", signal.SIGKILL)
        killed_at = time.time()
        # dead once no evaluation finished within 3 cycles (3 × the interval, or 3 × the slowest
        # evaluation of the last minute on a loaded machine where that is longer)
        while (result := check(running, "aggregator")).returncode == 0:
            assert time.time() - killed_at < START_S, result
            time.sleep(1)
        assert "no instant evaluated" in result.stderr, result
        assert "it is not running, or failing" in result.stderr, result
        time.sleep(max(0.0, killed_at + 3 * INTERVAL_S + 1 - time.time()))  # 3 instants missed
        restarted_at = time.time()
        running.start("aggregator", "aggregator", "--no-migrate")
        # Every aligned instant it missed is evaluated after its restart (a loaded aggregator
        # skips instants while it runs behind, but never those of a backfill).
        missed = range(math.ceil(killed_at / INTERVAL_S), math.floor(restarted_at / INTERVAL_S) + 1)
        wait_for(f"the {len(missed)} missed instants backfilled",
                 lambda: backfilled(store, missed) == {"down": len(missed), "up": len(missed)},
                 running, deadline_s=BACKFILL_S)
        assert "backfilling" in running.log("aggregator"), running.log("aggregator")
        assert running.stop("collector") == 0
        time.sleep(3)
        running.start("collector", "collector")
        wait_for("the prober's kept batches sent again",
                 lambda: "answers again" in running.log("prober"), running)
        time.sleep(3)
        assert running.stop("prober") == 0  # its last export reaches the collector
        time.sleep(2)  # the collector's batch timeout, and the aggregator's next instants
        requests = httpx.get(f"http://127.0.0.1:{where['simulator']}/_sim/stats").json()
        for target, model in (("down", "demo-down"), ("up", "demo-healthy")):
            # Every probe the prober finished (its debug log has one line each) is stored; the
            # simulator also saw the probes cut short by the prober's stop (one per kind at most).
            finished = len(re.findall(rf"target={target} kind=\w+ outcome=", running.log("prober")))
            assert stored_probes(store, target) == finished > 20, target
            assert 0 <= requests[model]["requests"] - finished <= 2, (target, requests[model])

        store.close()
