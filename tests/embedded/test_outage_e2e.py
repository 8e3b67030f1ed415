"""A 40 s collector outage loses no probe counts: `llmhealth run` end to end, with the real
rotel frozen (SIGSTOP: it keeps the port but answers nothing) while the prober keeps probing.
The prober keeps the batches it cannot send and replays them; the store then holds as many
probe results as the simulator saw requests. 40 s is eight probe intervals (5 s) and some 40
export intervals (1 s) of failed exports, longer than the OTLP exporter's own retries
(1 + 2 + 4 + 8 + 16 s) would last."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest
import yaml

from harness.pipeline import query, running_pipeline

pytestmark = [pytest.mark.embedded, pytest.mark.long]
OUTAGE_S = 40
MODEL = "demo-down"  # every request is a 500: one simulator request per probe, none hang
# The targets whose chat probes the simulator counts under MODEL: OpenAI API and Ollama API.
TARGETS = ["demo-down", "demo-ollama/demo-down:latest"]


@pytest.fixture
def pipeline(tmp_path) -> Iterator[dict]:
    with running_pipeline(tmp_path) as info:
        yield info


def _simulator_requests(pipeline: dict) -> int:
    port = yaml.safe_load(pipeline["config"].read_text())["simulator"]["port"]
    return httpx.get(f"http://127.0.0.1:{port}/_sim/stats").json()[MODEL]["requests"]


def _stored_probes(pipeline: dict) -> int:
    rows = query(pipeline, """SELECT toUInt64(sum(Value)) AS n FROM otel_metrics_sum
                                     WHERE MetricName = 'llmhealth.probe.outcomes'
                                       AND has({t:Array(String)}, Attributes['llmhealth.target'])
                                       AND Attributes['llmhealth.probe.kind'] != 'models'""",
                 {"t": TARGETS})
    return int(rows[0]["n"] or 0)


def _wait_for_rows(pipeline: dict, deadline_s: float = 30) -> None:
    started = time.monotonic()
    while True:
        try:
            if _stored_probes(pipeline) > 0:
                return
        except httpx.HTTPError:
            pass  # the store is still starting
        assert pipeline["process"].poll() is None, pipeline["log"].read_text()
        assert time.monotonic() - started < deadline_s, pipeline["log"].read_text()
        time.sleep(0.5)


def test_collector_outage_loses_no_probe_counts(pipeline: dict) -> None:
    _wait_for_rows(pipeline)
    rotel = next(c for c in psutil.Process(pipeline["process"].pid).children(recursive=True)
                 if c.name() == "rotel-agent")
    before = _stored_probes(pipeline)
    rotel.send_signal(signal.SIGSTOP)
    try:
        time.sleep(OUTAGE_S)
        during = _stored_probes(pipeline)
        sent = _simulator_requests(pipeline)
    finally:
        rotel.send_signal(signal.SIGCONT)
    assert sent - before >= OUTAGE_S // 5, "the prober kept probing during the outage"
    assert during - before <= 4, "nothing (but a batch in flight) reached the store during the outage"
    # After the outage: every probe the simulator answered by then is stored, once.
    deadline = time.monotonic() + 30
    while (stored := _stored_probes(pipeline)) < sent - 1:
        assert time.monotonic() < deadline, (stored, sent, pipeline["log"].read_text()[-3000:])
        time.sleep(0.5)
    assert stored <= _simulator_requests(pipeline)
    log = pipeline["log"].read_text()
    assert "collector" in log.lower() and "Traceback" not in log
