"""ExportBuffer: no probe count is lost while the collector is down, within the buffer's age.

The first tests run the real OTLP/gRPC exporter against a real local receiver that is down
(its port closed) and then comes up; the rest drive the buffer with a scripted exporter on a
virtual clock."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import replace

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from llmhealth_config.model import CollectorSettings, Config, ProberSettings
from llmhealth_config.target import Target
from prober.export_buffer import ExportBuffer, single_attempt_exporter
from prober.outcome import ProbeResult
from prober.telemetry import TEMPORALITY, Telemetry

TARGET = Target(name="t", base_url="http://127.0.0.1:1/v1", model="m")
OK_PROBE = ProbeResult(target="t", kind="completion", outcome="ok", duration_s=0.01)
OUTAGE = "does not answer"
RECOVERY = "answers again"


class Sink(metrics_service_pb2_grpc.MetricsServiceServicer):
    """An OTLP/gRPC metrics receiver that sums the `llmhealth.probe.outcomes` points."""

    def __init__(self) -> None:
        self.outcomes = 0
        self._lock = threading.Lock()

    def Export(self, request, context):  # the gRPC method name
        with self._lock:
            self.outcomes += sum(point.as_int
                                 for resource in request.resource_metrics
                                 for scope in resource.scope_metrics
                                 for metric in scope.metrics
                                 if metric.name == "llmhealth.probe.outcomes"
                                 for point in metric.sum.data_points)
        return metrics_service_pb2.ExportMetricsServiceResponse()


@contextmanager
def collector(port: int) -> Iterator[Sink]:
    """A receiver listening on `port` until the block ends; it answers the exports already
    under way before it closes the port."""
    sink = Sink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(sink, server)
    assert server.add_insecure_port(f"127.0.0.1:{port}") == port
    server.start()
    try:
        yield sink
    finally:
        server.stop(grace=2).wait()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe_for(telemetry: Telemetry, seconds: float) -> int:
    """Record an `ok` probe every 10 ms for `seconds`; the number recorded."""
    count = 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        telemetry.record(OK_PROBE, TARGET)
        count += 1
        time.sleep(0.01)
    return count


def wait_for(condition, seconds: float = 10.0) -> None:
    until = time.monotonic() + seconds
    while not condition() and time.monotonic() < until:
        time.sleep(0.05)


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def telemetry_to(port: int) -> Telemetry:
    return Telemetry(Config(prober=ProberSettings(export_interval=0.1),
                            collector=CollectorSettings(grpc_port=port)))


def test_counts_survive_collector_outages(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    port = closed_port()
    telemetry = telemetry_to(port)
    try:
        probes = probe_for(telemetry, 0.6)  # not started yet
        with collector(port) as first:
            probes += probe_for(telemetry, 0.3)
            wait_for(lambda: first.outcomes == probes)
        probes += probe_for(telemetry, 0.6)  # stopped
        wait_for(lambda: len(messages(caplog, OUTAGE)) == 2)
        with collector(port) as second:
            probes += probe_for(telemetry, 0.3)
            wait_for(lambda: first.outcomes + second.outcomes == probes)
    finally:
        telemetry.shutdown()

    assert first.outcomes > 0 and second.outcomes > 0
    assert first.outcomes + second.outcomes == probes
    (outage, _) = messages(caplog, OUTAGE)
    assert f"127.0.0.1:{port}" in outage and "keeping metric points (up to 600 s)" in outage
    assert "collector.grpc_port" in outage
    assert len(messages(caplog, RECOVERY)) == 2


def test_shutdown_with_the_collector_down_is_quick_and_reports_the_loss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    telemetry = telemetry_to(closed_port())
    probe_for(telemetry, 0.3)
    started = time.monotonic()
    telemetry.shutdown()
    assert time.monotonic() - started < 2.0
    (lost,) = messages(caplog, "at shutdown; they are lost")
    assert "kept batches" in lost


def test_otlp_exporter_tries_once() -> None:
    exporter = single_attempt_exporter(f"http://127.0.0.1:{closed_port()}", timeout_s=5.0,
                                       temporality=TEMPORALITY)
    try:
        started = time.monotonic()
        # With its own retries, the exporter would wait 1 s and 2 s before giving up.
        assert exporter.export(batch(1)) is MetricExportResult.FAILURE
        assert time.monotonic() - started < 0.5
    finally:
        exporter.shutdown()


def batch(value: int) -> MetricsData:
    """One delta counter point holding `value`, which tells the batches apart."""
    point = NumberDataPoint(attributes={}, start_time_unix_nano=0, time_unix_nano=1, value=value)
    metric = Metric(name="c", description="", unit="", data=Sum(
        data_points=[point], aggregation_temporality=AggregationTemporality.DELTA,
        is_monotonic=True))
    scope = ScopeMetrics(scope=InstrumentationScope("test"), metrics=[metric], schema_url="")
    return MetricsData(resource_metrics=[
        ResourceMetrics(resource=Resource({}), scope_metrics=[scope], schema_url="")])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Scripted(MetricExporter):
    """Takes an export while `up`, each one costing `send_s` of the clock; records the
    values it took and every attempt."""

    def __init__(self, clock: Clock, send_s: float = 0.0) -> None:
        super().__init__(preferred_temporality=TEMPORALITY)
        self.clock, self.send_s = clock, send_s
        self.up = False
        self.attempts = 0
        self.taken: list[int] = []
        self.sent: list[int] = []  # resource metrics per attempt: 0 for an empty export
        self.shut = False

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        self.attempts += 1
        self.clock.now += self.send_s
        self.sent.append(len(metrics_data.resource_metrics))
        if not self.up:
            return MetricExportResult.FAILURE
        if not metrics_data.resource_metrics:
            return MetricExportResult.SUCCESS
        self.taken.append(metrics_data.resource_metrics[0].scope_metrics[0].metrics[0]
                          .data.data_points[0].value)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self.shut = True


@pytest.fixture
def clock() -> Clock:
    return Clock()


def buffered(clock: Clock, keep_s: float = 600.0, send_s: float = 0.0) -> tuple[ExportBuffer, Scripted]:
    inner = Scripted(clock, send_s)
    return ExportBuffer(inner, endpoint="127.0.0.1:4317", keep_s=keep_s, clock=clock), inner


def export_each_second(buffer: ExportBuffer, clock: Clock, values: range) -> list[MetricExportResult]:
    results = []
    for value in values:
        clock.now = float(value)
        results.append(buffer.export(batch(value)))
    return results


def test_kept_batches_go_first_in_order(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    buffer, inner = buffered(clock)
    failed = export_each_second(buffer, clock, range(5))
    assert failed == [MetricExportResult.FAILURE] * 5
    assert inner.attempts == 5  # one attempt per export while down, not one per kept batch
    inner.up = True
    assert export_each_second(buffer, clock, range(5, 7)) == [MetricExportResult.SUCCESS] * 2
    assert inner.taken == [0, 1, 2, 3, 4, 5, 6]
    assert len(messages(caplog, OUTAGE)) == 1
    (recovery,) = messages(caplog, RECOVERY)
    assert "after 5 s: sent 6 kept batches (6 points)" in recovery and "dropped" not in recovery


def test_oldest_dropped_beyond_buffer_age(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    buffer, inner = buffered(clock, keep_s=5.0)
    export_each_second(buffer, clock, range(10))
    inner.up = True
    export_each_second(buffer, clock, range(10, 11))
    assert inner.taken == [6, 7, 8, 9, 10]  # collected less than 5 s before the last export
    (dropping,) = messages(caplog, "dropping the oldest")
    assert "reach back 5 s" in dropping
    (recovery,) = messages(caplog, RECOVERY)
    assert "sent 5 kept batches (5 points); dropped 6 batches (6 points) older than 5 s" in recovery


def test_expiry_alone_is_no_recovery(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    buffer, inner = buffered(clock, keep_s=5.0)
    export_each_second(buffer, clock, range(3))
    clock.now = 20.0
    assert buffer.export(MetricsData(resource_metrics=[])) is MetricExportResult.SUCCESS
    assert not messages(caplog, RECOVERY)
    inner.up = True
    export_each_second(buffer, clock, range(21, 22))
    (recovery,) = messages(caplog, RECOVERY)
    assert "sent 1 kept batches (1 points); dropped 3 batches (3 points)" in recovery


def test_sending_stops_at_the_deadline(clock: Clock) -> None:
    buffer, inner = buffered(clock, send_s=1.0)
    export_each_second(buffer, clock, range(4))
    inner.up = True
    clock.now = 10.0
    # the empty export that finds the collector answering again takes 1 s too
    assert buffer.export(batch(4), timeout_millis=2500) is MetricExportResult.FAILURE
    assert inner.taken == [0, 1]
    assert buffer.force_flush() and inner.taken == [0, 1, 2, 3, 4]


def test_a_failed_collector_gets_kept_batches_only_after_it_answers(clock: Clock) -> None:
    """A hung collector may read every request sent meanwhile when it resumes: while it does
    not answer it gets the batch of the first failed export, then only empty exports; the kept
    batches follow once it answers one."""
    buffer, inner = buffered(clock)
    export_each_second(buffer, clock, range(4))
    assert inner.sent == [1, 0, 0, 0]
    inner.up = True
    export_each_second(buffer, clock, range(4, 5))
    assert inner.sent == [1, 0, 0, 0, 0, 1, 1, 1, 1, 1] and inner.taken == [0, 1, 2, 3, 4]
    export_each_second(buffer, clock, range(5, 6))
    assert inner.sent[10:] == [1]  # answering again: no empty export first


def test_shutdown_tries_once_and_reports_the_loss(clock: Clock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prober")
    buffer, inner = buffered(clock)
    export_each_second(buffer, clock, range(3))
    buffer.shutdown(timeout=1000)  # as PeriodicExportingMetricReader calls it
    assert inner.attempts == 4 and inner.shut
    (lost,) = messages(caplog, "at shutdown")
    assert "did not take 3 kept batches (3 points)" in lost


def test_shutdown_sends_what_is_kept(clock: Clock) -> None:
    buffer, inner = buffered(clock)
    export_each_second(buffer, clock, range(3))
    inner.up = True
    buffer.shutdown()
    assert inner.taken == [0, 1, 2] and inner.shut


def test_otlp_error_log_muted_during_outage(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    otlp_log = logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter")
    buffer, inner = buffered(clock)
    otlp_log.error("first failure")
    export_each_second(buffer, clock, range(1))
    otlp_log.error("during the outage")
    inner.up = True
    export_each_second(buffer, clock, range(1, 2))
    otlp_log.error("after it")
    buffer.shutdown()
    otlp_log.error("after shutdown")
    logged = [r.getMessage() for r in caplog.records if r.name == otlp_log.name]
    assert logged == ["first failure", "after it", "after shutdown"]


def test_a_failure_is_exported_at_once_and_a_success_at_the_interval() -> None:
    port = closed_port()
    telemetry = Telemetry(Config(prober=ProberSettings(export_interval=30),
                                 collector=CollectorSettings(grpc_port=port)))
    try:
        with collector(port) as sink:
            telemetry.record(OK_PROBE, TARGET)
            time.sleep(1.0)
            assert sink.outcomes == 0  # the next periodic export is 30 s away
            telemetry.record(replace(OK_PROBE, outcome="http_5xx", http_status=500), TARGET)
            wait_for(lambda: sink.outcomes == 2, seconds=3.0)
            assert sink.outcomes == 2  # the failure, and the success collected with it
    finally:
        telemetry.shutdown()
