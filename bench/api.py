"""The HTTP API under load: what a router or a dashboard sees when it asks 100 times at once.

Twenty healthy targets in one pool run through `llmhealth run` (`bench.pipeline`). After a
warm-up, `wrk` (the Debian package) holds 100 connections open for a fixed time against, in
turn: `GET /api/health/summary`, `GET /api/health/route?pool=…` (both answered from memory),
and, for scale, `SELECT 1` over the store's ClickHouse HTTP endpoint and a bare ASGI app
answering constant bytes of the route's size (`bench.constant_app`, its own uvicorn process: the
floor of any Python answer on this machine under this load). During each load the aggregator's
own cycles (`health_cycles`) say whether the evaluation kept pace with `aggregator.interval`.
Goal (issue 17): summary and route p99 ≤ 10 ms, evaluation in pace.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.pipeline import HEALTHY, Pipeline, pipeline
from harness.ports import free_ports

TARGETS = 20
POOL = "bench-pool"
CONNECTIONS = 100
THREADS = 1
WARMUP_S = 25.0
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, headers: dict[str, str] | None = None) -> dict:
    """One wrk run: requests/s, latency percentiles (ms) and non-2xx answers."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    argv = [binary, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", url]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    latency = {int(p): float(v) * _UNIT_MS[unit] for p, v, unit in _LATENCY.findall(out)}
    errors = _ERRORS.search(out)
    return {"rps": float(_RATE.search(out).group(1)), "p50_ms": latency[50],
            "p90_ms": latency[90], "p99_ms": latency[99],
            "non_2xx": int(errors.group(1)) if errors else 0}


def _cycles(pipe: Pipeline, since: float, until: float) -> dict:
    row = pipe.query("""
        SELECT count() AS cycles, max(duration_ms) AS cycle_max_ms,
               quantile(0.5)(duration_ms) AS cycle_p50_ms, max(interval_s) AS interval_s,
               countIf(backfill) AS backfilled
        FROM health_cycles
        WHERE evaluated_at >= toDateTime64({since:Float64}, 3, 'UTC')
          AND evaluated_at < toDateTime64({until:Float64}, 3, 'UTC')""",
                     {"since": since, "until": until})[0]
    return {k: float(v or 0) for k, v in row.items()}


@contextlib.contextmanager
def constant_app(body_bytes: int) -> Iterator[str]:
    """The floor app on a free port, answering `body_bytes` bytes; yields its URL."""
    (port,) = free_ports(1)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.constant_app:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "BODY_BYTES": str(body_bytes)}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the constant app did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def measure(work: Path, seconds: float = 10.0) -> dict:
    names = [f"api-{i:02d}" for i in range(TARGETS)]
    pool = {name: {"pool": POOL} for name in names}
    with pipeline(work, dict.fromkeys(names, HEALTHY), target_settings=pool) as pipe:
        time.sleep(WARMUP_S)
        pipe.alive()
        auth = base64.b64encode(f"{pipe.auth[0]}:{pipe.auth[1]}".encode()).decode()
        cases = {
            "GET /api/health/summary": (f"{pipe.api}api/health/summary", None),
            f"GET /api/health/route?pool={POOL}": (f"{pipe.api}api/health/route?pool={POOL}", None),
            "SELECT 1 over the store's HTTP endpoint": (
                f"{pipe.url}?query=SELECT%201", {"Authorization": f"Basic {auth}"}),
        }
        route_bytes = len(httpx.get(cases[f"GET /api/health/route?pool={POOL}"][0]).content)
        results = {}
        with constant_app(route_bytes) as floor:
            cases[f"a bare ASGI app, constant {route_bytes:,} bytes (the floor)"] = (floor, None)
            for name, (url, headers) in cases.items():
                started = time.time()
                result = wrk(url, seconds, headers)
                ended = time.time()
                time.sleep(3.0)  # the last instant of the load is evaluated and recorded
                results[name] = {**result, **_cycles(pipe, started, ended)}
                pipe.alive()
        return {"seconds": seconds, "results": results}


def _pace(results: dict[str, dict]) -> str:
    behind = [name for name, r in results.items()
              if r["backfilled"] or r["cycle_max_ms"] > r["interval_s"] * 1000]
    if not behind:
        return "The evaluations kept pace under every load: none took longer than the interval."
    return f"The evaluations fell behind under: {', '.join(behind)}."


def section(measured: dict) -> list[str]:
    lines = [
        "## The HTTP API under load: 100 connections", "",
        (f"{TARGETS} healthy targets in one pool through `llmhealth run`; after a {WARMUP_S:g} s "
         f"warm-up, `wrk -t{THREADS} -c{CONNECTIONS} -d{measured['seconds']:g}s` against each "
         "request in turn, and `health_cycles` over the same seconds for the aggregator's "
         "evaluations. Goal: summary and route p99 ≤ 10 ms, and the evaluation keeps pace."), "",
        "| request | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | non-2xx | evaluations | evaluation p50 / max (ms) | interval (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in measured["results"].items():
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['non_2xx']} | {r['cycles']:.0f} ({r['backfilled']:.0f} late) | "
            f"{r['cycle_p50_ms']:.0f} / {r['cycle_max_ms']:.0f} | {r['interval_s'] * 1000:.0f} |")
    lines += ["", ("wrk (one thread), the API (uvicorn in the `llmhealth run` process, beside the "
                   "store, the worker and the live view) and the prober, collector, simulator and "
                   "forwarders share the machine's 2 cores, so these are the numbers of a "
                   "saturated machine. Read the API's rows against the last one: the same server "
                   "(uvicorn with httptools and uvloop) answering constant bytes of the route's "
                   "size from a process of its own, with no framework and no state, under the "
                   "same load: what any Python answer costs here. The summary, detailed and route "
                   "are answered before the framework from bytes encoded once per state or 50 ms "
                   "(docs/api.md, \"The hot reads\"). With 100 connections always waiting, a "
                   "request's latency is about connections ÷ requests/s (Little's law)."),
              "", _goal(measured["results"]), "", _pace(measured["results"])]
    return lines


def _goal(results: dict[str, dict]) -> str:
    api = {name: r["p99_ms"] for name, r in results.items() if name.startswith("GET /api/")}
    floor = next(r["p99_ms"] for name, r in results.items() if name.endswith("(the floor)"))
    missed = {name: p99 for name, p99 in api.items() if p99 > 10.0}
    worst = max(api.values())
    verdict = ("Goal met: " if not missed else "Goal **not met**: ") + ", ".join(
        f"{name.split('?')[0].removeprefix('GET ')} p99 {p99:.1f} ms" for name, p99 in api.items())
    return (f"{verdict} against 10 ms; the bare app's p99 under the same load is {floor:.1f} ms, "
            f"so the API's worst p99 is {worst / floor:.1f} × the floor.")
