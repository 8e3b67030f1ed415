"""Rows/s the embedded endpoint ingests from rotel (RowBinary), and where the CPU goes.

The store and its HTTP endpoint run in this process; rotel and the OTLP load generator are
child processes. CPU split: the endpoint is the uvicorn event-loop thread (HTTP parsing,
body reading); everything else in this process is chDB (insert parsing in worker threads,
background merges).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import uvicorn

from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_endpoint import ClickHouseHTTP
from harness.ports import free_ports
from llmhealth.run import rotel
from llmhealth_config.model import StoreSettings

BENCH_PASSWORD = "bench-password"


def _thread_cpu(native_id: int) -> float:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return thread.user_time + thread.system_time
    return 0.0


def measure(store: EmbeddedStore, work_dir: Path, series: int = 40_000, seconds: float = 20.0) -> dict:
    app = ClickHouseHTTP.serving(store, StoreSettings(max_insert_bytes=1 << 30),
                                 {"default": BENCH_PASSWORD, "reader": BENCH_PASSWORD})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    grpc_port, http_port = free_ports(2)
    argv, env = rotel.command(grpc_port=grpc_port, http_port=http_port,
                              store_url=f"http://127.0.0.1:{port}", database=store.database,
                              user="default", password=BENCH_PASSWORD, batch_timeout_s=0.2)
    collector = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    load = subprocess.Popen([sys.executable, "-m", "bench.load", str(grpc_port), str(series), str(seconds)])
    me = psutil.Process()
    time.sleep(3)  # warm-up: first exports, table parts created
    rows0 = store.rows("SELECT count() AS n FROM otel_metrics_sum")[0]["n"]
    cpu0, loop0, t0 = sum(me.cpu_times()[:2]), _thread_cpu(thread.native_id), time.monotonic()
    time.sleep(seconds - 6)
    rows1 = store.rows("SELECT count() AS n FROM otel_metrics_sum")[0]["n"]
    cpu1, loop1, t1 = sum(me.cpu_times()[:2]), _thread_cpu(thread.native_id), time.monotonic()
    rotel_cpu = sum(psutil.Process(collector.pid).cpu_times()[:2])
    load.wait()
    collector.terminate()
    collector.wait()
    server.should_exit = True
    thread.join(10)
    app.close()
    total, endpoint = cpu1 - cpu0, loop1 - loop0
    return {"rows_per_s": (rows1 - rows0) / (t1 - t0), "series": series,
            "process_cpu_cores": total / (t1 - t0), "endpoint_share": endpoint / total if total else 0.0,
            "chdb_share": 1 - endpoint / total if total else 0.0, "rotel_cpu_s_total": rotel_cpu}
