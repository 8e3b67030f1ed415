"""The prober's metrics, exactly as docs/metrics.md specifies them.

`Telemetry` owns a MeterProvider whose reader exports over OTLP/gRPC to the local collector
with delta temporality; every histogram is exponential with at most 640 buckets. `record` is
the only way a probe result becomes metrics. Exports run on the SDK's background thread, so
recording never blocks the event loop and an unreachable collector never stops probing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

import llmhealth
from llmhealth.config.model import Config
from llmhealth.config.target import Target
from prober.outcome import OK, ProbeResult

MAX_BUCKETS = 640
EXPORT_TIMEOUT_S = 5.0
SHUTDOWN_TIMEOUT_MS = 10_000

TEMPORALITY = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
}
"""Delta for counters and histograms; every other instrument keeps the SDK's cumulative."""


class Telemetry:
    """The instruments of docs/metrics.md behind one `record` call.

    Without `metric_reader` the provider exports to `127.0.0.1:{collector.grpc_port}` every
    `prober.export_interval` seconds; tests pass an `InMemoryMetricReader` built with
    `preferred_temporality=TEMPORALITY` instead.
    """

    def __init__(self, config: Config, *, metric_reader: MetricReader | None = None) -> None:
        self.endpoint = f"http://127.0.0.1:{config.collector.grpc_port}"
        reader = metric_reader or PeriodicExportingMetricReader(
            OTLPMetricExporter(
                endpoint=self.endpoint,
                insecure=True,
                timeout=EXPORT_TIMEOUT_S,
                preferred_temporality=TEMPORALITY,
            ),
            export_interval_millis=config.prober.export_interval * 1000,
        )
        self._provider = MeterProvider(
            metric_readers=[reader],
            resource=Resource.create(
                {"service.name": llmhealth.PROBER_SERVICE_NAME, "service.version": llmhealth.__version__}
            ),
            views=[
                View(
                    instrument_type=Histogram,
                    aggregation=ExponentialBucketHistogramAggregation(max_size=MAX_BUCKETS),
                )
            ],
        )
        meter = self._provider.get_meter("llmhealth.prober", llmhealth.__version__)
        self._outcomes = meter.create_counter(
            "llmhealth.probe.outcomes", unit="{probe}", description="Finished probes by outcome"
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

    def record(self, result: ProbeResult, target: Target) -> None:
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

    def shutdown(self) -> None:
        """Export what is still pending and stop the exporter (blocks, bounded)."""
        self._provider.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS)


def probe_attributes(result: ProbeResult, target: Target) -> dict[str, str | int]:
    """The attributes every metric of one probe carries (docs/metrics.md)."""
    address, port = server_of(target.base_url)
    attributes: dict[str, str | int] = {
        "llmhealth.target": target.name,
        "llmhealth.probe.kind": result.kind,
        "gen_ai.provider.name": target.provider,
        "gen_ai.request.model": target.model,
        "gen_ai.operation.name": "chat",
        "server.address": address,
        "server.port": port,
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
