"""A real application instrumented with the official OpenTelemetry GenAI instrumentation
(`simulator.traffic`: the `openai` client under `opentelemetry-instrumentation-openai-v2`) run
as a child process by tests and benchmarks, with the requests it sent read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LATEST = {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}
"""The instrumentation's opt-in to the current GenAI conventions (`gen_ai.provider.name`);
without it, it follows the older ones (`gen_ai.system`)."""


@contextmanager
def running_app(tmp: Path, routes: list[str], otlp: str, *, service: str, latest: bool = True,
                rate: float = 2.0, timeout: float = 5.0,
                duration: float | None = None) -> Iterator[dict]:
    """`python -m simulator.traffic` sending `routes` (`MODEL@BASE_URL`) to OTLP `otlp` as
    `service`, following the current conventions when `latest`, else the older ones. Yields
    `{"process", "counts"}`; `counts()` stops the application (SIGTERM; it flushes its metrics)
    if it still runs and returns the requests it sent as {(route, outcome): n}. Stopped on exit."""
    counts_file = tmp / f"{service}-counts.json"
    log = (tmp / f"{service}.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "OTEL_SEMCONV_STABILITY_OPT_IN"}
    command = [sys.executable, "-m", "simulator.traffic", "--otlp", otlp, "--service", service,
               "--rate", str(rate), "--timeout", str(timeout), "--counts", str(counts_file),
               *(["--duration", str(duration)] if duration else []),
               *[arg for route in routes for arg in ("--route", route)]]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**env, **(LATEST if latest else {})})

    def counts() -> dict[tuple[str, str], int]:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout + 30)
        assert process.returncode == 0, (tmp / f"{service}.log").read_text()
        return {(r["route"], r["outcome"]): r["n"] for r in json.loads(counts_file.read_text())}

    try:
        yield {"process": process, "counts": counts}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
