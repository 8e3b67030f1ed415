"""Lossless metric export: batches the collector does not take are kept and sent again.

`ExportBuffer` wraps the OTLP exporter. Every `export` appends the new batch to a queue and
sends the queue oldest first, stopping at the first failure: kept batches reach the collector
in order and before newer data, so a collector outage delays points instead of losing them.
Points keep their timestamps; with delta temporality a late point just adds its counts to the
window it belongs to. Delivery is at least once: a batch that the collector took but did not
acknowledge in time is sent again. So that this happens once per outage at most, not once per
attempt, a collector that failed is first sent an empty export, and kept batches follow only
when it answers: a hung collector (a stopped process keeps its port, and the kernel keeps
accepting requests for it) reads every request queued meanwhile when it resumes.

Bounded by age: batches collected `keep_s` seconds ago or earlier are dropped, oldest first,
counted and logged. Memory is about 0.5 KB per kept point (some 5 KB per probe).

Retries happen here only. The OTLP/gRPC exporter (1.45) retries the retryable status codes
itself, up to 6 attempts with backoffs of 1, 2, 4, 8, 16 s (±20 %) within one deadline of its
`timeout`, and then drops the batch; `single_attempt_exporter` turns that off, so one failed
export costs one attempt: at once when the port is closed, at most `timeout` when the collector
hangs. Its deadline starts before the batch is encoded (0.1 to 0.3 s per 1,000 points on a
small machine), so the timeout must leave room for the encoding too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)

log = logging.getLogger("prober")
_OTLP_LOG = logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter")

NO_RETRY = frozenset({grpc.StatusCode.OK})
"""Retryable codes that the exporter never meets (an empty set means its default set)."""


def single_attempt_exporter(
    endpoint: str, *, timeout_s: float, temporality: dict[type, AggregationTemporality]
) -> OTLPMetricExporter:
    """An OTLP/gRPC exporter to `endpoint` that tries each export once, for `timeout_s` at most.

    After an UNAVAILABLE answer it replaces its gRPC channel, so the next export connects
    afresh instead of waiting out gRPC's reconnect backoff."""
    return OTLPMetricExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"),
                              timeout=timeout_s,
                              preferred_temporality=temporality, retryable_error_codes=NO_RETRY)


@dataclass(frozen=True)
class _Kept:
    data: MetricsData
    points: int
    kept_at: float


@dataclass
class _Outage:
    """Since the first failed send: what was sent late and what was dropped."""

    started: float
    sent_batches: int = 0
    sent_points: int = 0
    dropped_batches: int = 0
    dropped_points: int = 0


class ExportBuffer(MetricExporter):
    """A `MetricExporter` that keeps what `exporter` fails to send, up to `keep_s` seconds.

    After an export that left nothing kept, calls `on_sent` (the prober's heartbeat);
    `keepalive` does the same while there is nothing to export.
    Logs one WARNING when the collector at `endpoint` stops answering and one INFO when every
    kept batch has been sent again. While it does not answer, the OTLP exporter's own error
    log (one line per failed attempt) is muted: its first error, with the gRPC status, is kept.
    Thread-safe; `export` is called by the SDK's reader thread, `force_flush` and `shutdown`
    may come from another.
    """

    def __init__(self, exporter: MetricExporter, *, endpoint: str, keep_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 on_sent: Callable[[], None] | None = None) -> None:
        # The SDK's reader takes the preferences from the exporter it is given.
        super().__init__(preferred_temporality=exporter._preferred_temporality,
                         preferred_aggregation=exporter._preferred_aggregation)
        self._exporter = exporter
        self._endpoint = endpoint
        self._keep_s = keep_s
        self._clock = clock
        self._on_sent = on_sent
        self._last_sent = clock()
        self._queue: deque[_Kept] = deque()
        self._lock = threading.Lock()
        self._outage: _Outage | None = None
        _OTLP_LOG.addFilter(self._mute_during_outage)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        """Queue `metrics_data` (unless it holds no point), then send the queue oldest first
        within `timeout_millis`. SUCCESS when nothing is left to send."""
        with self._lock:
            now = self._clock()
            points = _count_points(metrics_data)
            if points:
                self._queue.append(_Kept(metrics_data, points, now))
            self._drop_expired(now)
            self._send(deadline=now + timeout_millis / 1000)
            if self._queue:
                return MetricExportResult.FAILURE
            self._last_sent = self._clock()
        if self._on_sent is not None:
            self._on_sent()
        return MetricExportResult.SUCCESS

    def keepalive(self, idle_s: float) -> None:
        """When nothing reached the collector for `idle_s` (the SDK exports only when there
        are points), send it the kept batches or, with none, an empty export; call `on_sent`
        when it took them. Called every export interval by the prober's heartbeat thread;
        returns at once while an export runs."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            now = self._clock()
            if now - self._last_sent < idle_s:
                return
            if self._queue:
                self._send(deadline=now + idle_s)
                sent = not self._queue
            else:
                sent = self._answers()
            if sent:
                self._last_sent = self._clock()
        finally:
            self._lock.release()
        if sent and self._on_sent is not None:
            self._on_sent()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Send the kept batches within `timeout_millis`; True when none is left."""
        return self._flush(timeout_millis / 1000) == (0, 0)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        """Try once to send the kept batches, log what is lost, shut the OTLP exporter down."""
        # PeriodicExportingMetricReader passes its remaining time as `timeout`, in ms.
        timeout_s = float(kwargs.get("timeout", timeout_millis)) / 1000
        left = self._flush(timeout_s)
        if left is None:
            log.warning("metric export to %s still running at shutdown; points it holds are "
                        "lost", self._endpoint)
        elif left != (0, 0):
            log.warning("collector at %s did not take %d kept batches (%d points) at shutdown; "
                        "they are lost", self._endpoint, *left)
        _OTLP_LOG.removeFilter(self._mute_during_outage)
        self._exporter.shutdown(timeout_millis=max(timeout_s, 0.0) * 1000)

    def _flush(self, timeout_s: float) -> tuple[int, int] | None:
        """Send kept batches within `timeout_s`; (batches, points) still kept, None when an
        export held the lock all along."""
        if not self._lock.acquire(timeout=max(timeout_s, 0.0)):
            return None
        try:
            self._send(deadline=self._clock() + timeout_s)
            return len(self._queue), sum(kept.points for kept in self._queue)
        finally:
            self._lock.release()

    def _send(self, deadline: float) -> None:
        """Send the queue oldest first until it is empty, a send fails or `deadline` passes.
        During an outage an empty export goes first: a hung collector may still read what it
        is sent once it resumes, so it gets a kept batch only after it answered again."""
        if self._queue and self._outage and not self._answers():
            return
        while self._queue and self._clock() < deadline:
            kept = self._queue[0]
            if self._exporter.export(kept.data) is not MetricExportResult.SUCCESS:
                self._failed()
                return
            self._queue.popleft()
            if self._outage:
                self._outage.sent_batches += 1
                self._outage.sent_points += kept.points
                if not self._queue:
                    self._recovered(self._outage)

    def _answers(self) -> bool:
        """Whether the collector takes an export holding no point."""
        return self._exporter.export(MetricsData(resource_metrics=[])) is MetricExportResult.SUCCESS

    def _failed(self) -> None:
        if self._outage is None:
            self._outage = _Outage(started=self._clock())
            log.warning(
                "collector at %s does not answer; keeping metric points (up to %g s) to send "
                "them in order once it does. Check that the collector runs and listens there "
                "(collector.endpoint, else collector.grpc_port on this machine); `llmhealth run` "
                "restarts it and logs why it stopped",
                self._endpoint, self._keep_s)

    def _recovered(self, outage: _Outage) -> None:
        self._outage = None
        dropped = (f"; dropped {outage.dropped_batches} batches ({outage.dropped_points} points) "
                   f"older than {self._keep_s:g} s" if outage.dropped_batches else "")
        log.info("collector at %s answers again after %.0f s: sent %d kept batches (%d points)%s",
                 self._endpoint, self._clock() - outage.started, outage.sent_batches,
                 outage.sent_points, dropped)

    def _drop_expired(self, now: float) -> None:
        batches = points = 0
        while self._queue and now - self._queue[0].kept_at >= self._keep_s:
            batches += 1
            points += self._queue.popleft().points
        if not batches:
            return
        if self._outage is None or not self._outage.dropped_batches:
            log.warning("metrics kept for %s reach back %g s (prober.export_buffer): dropping "
                        "the oldest, %d points so far", self._endpoint, self._keep_s, points)
        if self._outage:
            self._outage.dropped_batches += batches
            self._outage.dropped_points += points

    def _mute_during_outage(self, _record: logging.LogRecord) -> bool:
        return self._outage is None


def _count_points(data: MetricsData) -> int:
    return sum(len(metric.data.data_points) for resource in data.resource_metrics
               for scope in resource.scope_metrics for metric in scope.metrics)
