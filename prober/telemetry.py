"""The prober's metrics, exactly as docs/metrics.md specifies them.

`Telemetry` owns a MeterProvider whose reader exports over OTLP/gRPC to the local collector
with delta temporality; every histogram is exponential with at most 640 buckets. `record` is
the only way a probe result becomes metrics. Exports run on the SDK's background thread, so
recording never blocks the event loop and an unreachable collector never stops probing; what
the collector does not take is kept and sent again (`prober.export_buffer`). A failed probe
is exported at once, not at the next interval (`prober.early_export`).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    Counter,
    Histogram,
    MeterProvider,
    ObservableGauge,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from llmhealth_config import product
from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.early_export import EarlyExport
from prober.export_buffer import ExportBuffer, single_attempt_exporter
from prober.gauges import LatestGauge
from prober.heartbeat import Heartbeat, Keepalive
from prober.local_models import LocalModel
from prober.outcome import OK, ProbeResult

MAX_BUCKETS = 640
EXPORT_TIMEOUT_S = 5.0
"""Most one export attempt may take (`prober.export_interval` when shorter): enough to encode
and send one interval of points, short enough that a hung collector delays the next
collection by at most that much. A closed port fails at once."""
SHUTDOWN_TIMEOUT_MS = 10_000
EARLY_EXPORT_GAP = 0.25
"""Early exports (of failures) run at least this fraction of `prober.export_interval` apart."""
CARDINALITY_LIMIT = 200_000
"""Attribute sets per metric before the SDK folds the rest into one overflow set. The SDK's
default (2,000) is reached by a few hundred targets (target x kind x outcome); ours are
bounded by the config, so the limit only guards memory."""

TEMPORALITY = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
}
"""Delta for counters and histograms; gauges (in-flight, headroom, budget, local models)
export each observation once (`prober.gauges`)."""


class Telemetry:
    """The instruments of docs/metrics.md behind one `record` call.

    Without `metric_reader` the provider exports to `collector.export_endpoint` every
    `prober.export_interval` seconds, through an `ExportBuffer` that beats the heartbeat
    (`prober.heartbeat_file`) after each export the collector took; tests pass an
    `InMemoryMetricReader` built with `preferred_temporality=TEMPORALITY` instead.
    """

    def __init__(self, config: Config, *, metric_reader: MetricReader | None = None) -> None:
        self.endpoint = config.collector.export_endpoint
        self._early: EarlyExport | None = None
        self._keepalive: Keepalive | None = None
        reader = metric_reader
        if reader is None:
            interval_s = config.prober.export_interval
            buffer = ExportBuffer(
                single_attempt_exporter(self.endpoint, timeout_s=min(EXPORT_TIMEOUT_S, interval_s),
                                        temporality=TEMPORALITY),
                endpoint=self.endpoint, keep_s=config.prober.export_buffer,
                on_sent=Heartbeat(config.prober.heartbeat_file).beat)
            reader = PeriodicExportingMetricReader(buffer, export_interval_millis=interval_s * 1000)
            self._keepalive = Keepalive(buffer.keepalive, interval_s)
            self._early = EarlyExport(
                lambda: reader.force_flush(timeout_millis=int(1000 * max(interval_s, EXPORT_TIMEOUT_S))),
                min_gap_s=interval_s * EARLY_EXPORT_GAP)
        self._provider = MeterProvider(
            metric_readers=[reader],
            # No traces, so no exemplars: skip building a reservoir per attribute set.
            exemplar_filter=AlwaysOffExemplarFilter(),
            resource=Resource.create(
                {"service.name": product.PROBER_SERVICE_NAME, "service.version": product.__version__}
            ),
            views=[
                View(
                    instrument_type=Histogram,
                    aggregation=ExponentialBucketHistogramAggregation(max_size=MAX_BUCKETS),
                    aggregation_cardinality_limit=CARDINALITY_LIMIT,
                ),
                *(View(instrument_type=kind, aggregation_cardinality_limit=CARDINALITY_LIMIT)
                  for kind in (Counter, ObservableGauge)),
            ],
        )
        meter = self._provider.get_meter("llmhealth.prober", product.__version__)
        self._outcomes = meter.create_counter(
            "llmhealth.probe.outcomes", unit="{probe}", description="Finished probes by outcome"
        )
        self._liveness = meter.create_counter(
            "llmhealth.liveness.outcomes", unit="{probe}",
            description="Finished liveness probes of backed-off targets by outcome",
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Probe duration"
        )
        self._ttft = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time from request start to the first content chunk",
        )
        self._tokens_per_second = meter.create_histogram(
            "llmhealth.probe.output_tokens_per_second",
            unit="{token}/s",
            description="Output tokens per second after the first chunk",
        )
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens reported as used"
        )
        self._max_gap = meter.create_histogram(
            "llmhealth.stream.max_gap", unit="s",
            description="Longest pause between two content chunks of a stream",
        )
        self._stream_chunks = meter.create_histogram(
            "llmhealth.stream.chunks", unit="{chunk}",
            description="Content chunks a stream delivered, also those before a cut",
        )
        self._stream_ends = meter.create_counter(
            "llmhealth.stream.ends", unit="{stream}", description="Started streams by how they ended"
        )
        self._bytes = meter.create_counter(
            "llmhealth.probe.bytes", unit="By", description="Bytes a probe sent and received"
        )
        # A gauge set on every start and end rather than an UpDownCounter: an idle target is
        # not re-exported at every export, which at 1,000 targets was a fifth of each export.
        self._in_flight = LatestGauge(
            meter, "llmhealth.probe.in_flight", unit="{probe}", description="Probes running now"
        )
        self._running: dict[tuple[str, str], int] = {}
        self._cost = meter.create_counter(
            "llmhealth.probe.cost", unit="USD", description="Estimated price of the tokens probes spent"
        )
        self._schedule_delay = meter.create_histogram(
            "llmhealth.prober.schedule_delay", unit="s",
            description="How late probes started against their planned instant",
        )
        self._discovery_changes = meter.create_counter(
            "llmhealth.discovery.changes", unit="{change}",
            description="Models that appeared, disappeared, loaded or unloaded on a local server",
        )
        self._rate_limit = {
            field: LatestGauge(meter, f"llmhealth.ratelimit.{field}", unit=unit, description=text)
            for field, unit, text in (
                ("limit", "{unit}", "Rate limit of a resource, from response headers"),
                ("remaining", "{unit}", "Remaining requests or tokens before the limit"),
                ("reset", "s", "Seconds until the limit resets"),
            )
        }
        self._retry_after = LatestGauge(
            meter, "llmhealth.ratelimit.retry_after", unit="s",
            description="Seconds the provider asked to wait (retry-after)",
        )
        self._budget_remaining = LatestGauge(
            meter, "llmhealth.probe.token_budget.remaining", unit="{token}",
            description="Tokens left in the target's daily probe budget",
        )
        self._model_loaded = LatestGauge(
            meter, "llmhealth.model.loaded", unit="1",
            description="1 when a local server has the model in memory, else 0",
        )
        self._model_vram = LatestGauge(
            meter, "llmhealth.model.vram", unit="By", description="GPU memory a loaded model holds"
        )

    def record(self, result: ProbeResult, target: Target, *, cost_usd: float | None = None) -> None:
        """Turn one finished probe into the measurements the contract lists for it."""
        attributes = probe_attributes(result, target)
        outcome_attributes = {**attributes, "llmhealth.probe.outcome": result.outcome}
        if result.http_status is not None:
            outcome_attributes["http.response.status_code"] = result.http_status
        self._outcomes.add(1, outcome_attributes)
        self._duration.record(result.duration_s, attributes)
        if result.ttft_s is not None:
            self._ttft.record(result.ttft_s, attributes)
        if result.output_tokens_per_s is not None:
            self._tokens_per_second.record(result.output_tokens_per_s, attributes)
        for token_type, count in (("input", result.input_tokens), ("output", result.output_tokens)):
            if count is not None:
                self._token_usage.record(count, {**attributes, "gen_ai.token.type": token_type})
        if result.stream_clean is not None:
            self._record_stream(result, attributes)
        for direction, count in (("transmit", result.bytes_sent), ("receive", result.bytes_received)):
            if count:
                self._bytes.add(count, {**attributes, "network.io.direction": direction})
        if cost_usd:
            self._cost.add(cost_usd, attributes)
        self._record_rate_limits(result, target)
        if result.outcome != OK and self._early is not None:
            self._early.request()

    def record_liveness(self, result: ProbeResult, target: Target) -> None:
        """Count one internal liveness probe (`prober.liveness`); nothing else of it is
        recorded, so it never counts as a probe of the target's own kinds."""
        attributes = {**target_attributes(target), "llmhealth.probe.kind": result.kind,
                      "llmhealth.probe.outcome": result.outcome}
        if result.outcome != OK:
            attributes["error.type"] = result.outcome
        self._liveness.add(1, attributes)

    def _record_stream(self, result: ProbeResult, attributes: dict[str, str | int]) -> None:
        self._stream_chunks.record(result.chunks, attributes)
        if result.max_gap_s is not None:
            self._max_gap.record(result.max_gap_s, attributes)
        end = "clean" if result.stream_clean else "cut"
        self._stream_ends.add(1, {**attributes, "llmhealth.stream.end": end})

    def _record_rate_limits(self, result: ProbeResult, target: Target) -> None:
        base = target_attributes(target)
        for limit in result.rate_limits:
            attributes = {**base, "llmhealth.ratelimit.resource": limit.resource}
            for field, value in (("limit", limit.limit), ("remaining", limit.remaining),
                                 ("reset", limit.reset_s)):
                if value is not None:
                    self._rate_limit[field].set(value, attributes)
        if result.retry_after_s is not None:
            self._retry_after.set(result.retry_after_s, base)

    def probe_started(self, target: Target, kind: str, delay_s: float) -> None:
        """A probe starts `delay_s` after its planned instant."""
        self._schedule_delay.record(max(0.0, delay_s))
        self._count_in_flight(target, kind, +1)

    def probe_finished(self, target: Target, kind: str) -> None:
        self._count_in_flight(target, kind, -1)

    def _count_in_flight(self, target: Target, kind: str, change: int) -> None:
        key = (target.name, kind)
        running = self._running[key] = self._running.get(key, 0) + change
        self._in_flight.set(running, {**target_attributes(target), "llmhealth.probe.kind": kind})

    def record_budget(self, target: Target, remaining: int) -> None:
        self._budget_remaining.set(remaining, target_attributes(target))

    def record_local_models(self, endpoint: Target, models: list[LocalModel]) -> None:
        """Load state (and VRAM) of every model a discovery round saw on `endpoint`."""
        base = target_attributes(endpoint)
        for model in models:
            attributes = {**base, "gen_ai.request.model": model.name}
            if model.loaded is not None:
                self._model_loaded.set(1 if model.loaded else 0, attributes)
            if model.vram_bytes is not None:
                self._model_vram.set(model.vram_bytes, attributes)

    def record_discovery_change(self, endpoint: Target, model: str, change: str) -> None:
        self._discovery_changes.add(1, {**target_attributes(endpoint), "gen_ai.request.model": model,
                                        "llmhealth.discovery.change": change})

    def shutdown(self) -> None:
        """Export what is still pending and stop the exporter (blocks, bounded)."""
        if self._early is not None:
            self._early.stop()
        if self._keepalive is not None:
            self._keepalive.stop()
        self._provider.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS)


OPERATION = {"completion": "chat", "stream": "chat", "context": "chat", "models": "list_models",
             "http": "http_check"}


def target_attributes(target: Target) -> dict[str, str | int]:
    """The attributes that identify a target (docs/metrics.md); no model for a target
    without one (custom HTTP checks, discovery endpoints)."""
    return dict(_identity(target.name, target.provider, target.base_url, target.model))


@functools.lru_cache(maxsize=65_536)
def _identity(name: str, provider: str, base_url: str, model: str | None) -> tuple:
    address, port = server_of(base_url)
    attributes: dict[str, str | int] = {
        "llmhealth.target": name,
        "gen_ai.provider.name": provider,
        "server.address": address,
        "server.port": port,
    }
    if model is not None:
        attributes["gen_ai.request.model"] = model
    return tuple(attributes.items())


def probe_attributes(result: ProbeResult, target: Target) -> dict[str, str | int]:
    """The attributes every metric of one probe carries (docs/metrics.md)."""
    attributes = {
        **target_attributes(target),
        "llmhealth.probe.kind": result.kind,
        "gen_ai.operation.name": OPERATION[result.kind],
    }
    if result.outcome != OK:
        attributes["error.type"] = result.outcome
    return attributes


def server_of(base_url: str) -> tuple[str, int]:
    """The host and port of a base URL, the port defaulting to the scheme's; ValueError when
    the URL has no host or an invalid port."""
    url = urlsplit(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    if not url.hostname:
        raise ValueError("base_url has no host")
    return url.hostname, port
