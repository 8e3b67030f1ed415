"""Telemetry.record against docs/metrics.md, read back through an in-memory reader."""

from __future__ import annotations

from dataclasses import replace

import pytest
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    InMemoryMetricReader,
    Metric,
    Sum,
)

from llmhealth_config import product
from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.outcome import ProbeResult
from prober.telemetry import TEMPORALITY, Telemetry, server_of

TARGET = Target(
    name="openai-gpt-4o-mini", base_url="https://api.openai.com/v1", model="gpt-4o-mini"
)
BASE = {
    "llmhealth.target": "openai-gpt-4o-mini",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.operation.name": "chat",
    "server.address": "api.openai.com",
    "server.port": 443,
}
OK_STREAM = ProbeResult(
    target=TARGET.name,
    kind="stream",
    outcome="ok",
    duration_s=0.8,
    http_status=200,
    ttft_s=0.3,
    output_tokens_per_s=25.0,
    input_tokens=8,
    output_tokens=4,
    stream_clean=True,
    chunks=4,
)
FAILED_COMPLETION = ProbeResult(
    target=TARGET.name, kind="completion", outcome="timeout", duration_s=10.0, detail="deadline"
)
OK_ATTRS = {**BASE, "llmhealth.probe.kind": "stream"}
FAILED_ATTRS = {**BASE, "llmhealth.probe.kind": "completion", "error.type": "timeout"}
UNITS = {
    "llmhealth.probe.outcomes": "{probe}",
    "gen_ai.client.operation.duration": "s",
    "gen_ai.client.operation.time_to_first_chunk": "s",
    "llmhealth.probe.output_tokens_per_second": "{token}/s",
    "gen_ai.client.token.usage": "{token}",
    "llmhealth.stream.chunks": "{chunk}",
    "llmhealth.stream.ends": "{stream}",
}
COUNTERS = ("llmhealth.probe.outcomes", "llmhealth.stream.ends")


def make_telemetry() -> tuple[Telemetry, InMemoryMetricReader]:
    reader = InMemoryMetricReader(preferred_temporality=TEMPORALITY)
    return Telemetry(Config(), metric_reader=reader), reader


def collect(reader: InMemoryMetricReader) -> dict[str, Metric]:
    data = reader.get_metrics_data()
    (resource_metrics,) = data.resource_metrics
    assert resource_metrics.resource.attributes["service.name"] == "llmhealth-prober"
    assert resource_metrics.resource.attributes["service.version"] == product.__version__
    return {m.name: m for scope in resource_metrics.scope_metrics for m in scope.metrics}


def points(metric: Metric) -> dict[frozenset, object]:
    return {frozenset(p.attributes.items()): p for p in metric.data.data_points}


def key(attributes: dict) -> frozenset:
    return frozenset(attributes.items())


def test_names_units_types_and_temporality() -> None:
    telemetry, reader = make_telemetry()
    telemetry.record(OK_STREAM, TARGET)
    telemetry.record(FAILED_COMPLETION, TARGET)
    metrics = collect(reader)
    assert {name: m.unit for name, m in metrics.items()} == UNITS
    for name in COUNTERS:
        counter = metrics.pop(name).data
        assert isinstance(counter, Sum) and counter.is_monotonic
        assert counter.aggregation_temporality == AggregationTemporality.DELTA
    for metric in metrics.values():
        assert isinstance(metric.data, ExponentialHistogram), metric.name
        assert metric.data.aggregation_temporality == AggregationTemporality.DELTA


def test_attributes_and_values() -> None:
    telemetry, reader = make_telemetry()
    telemetry.record(OK_STREAM, TARGET)
    telemetry.record(FAILED_COMPLETION, TARGET)
    metrics = collect(reader)

    outcomes = points(metrics["llmhealth.probe.outcomes"])
    assert {k: p.value for k, p in outcomes.items()} == {
        key({**OK_ATTRS, "llmhealth.probe.outcome": "ok", "http.response.status_code": 200}): 1,
        key({**FAILED_ATTRS, "llmhealth.probe.outcome": "timeout"}): 1,
    }
    expected_sums = {
        "gen_ai.client.operation.duration": {key(OK_ATTRS): 0.8, key(FAILED_ATTRS): 10.0},
        "gen_ai.client.operation.time_to_first_chunk": {key(OK_ATTRS): 0.3},
        "llmhealth.probe.output_tokens_per_second": {key(OK_ATTRS): 25.0},
        "gen_ai.client.token.usage": {
            key({**OK_ATTRS, "gen_ai.token.type": "input"}): 8,
            key({**OK_ATTRS, "gen_ai.token.type": "output"}): 4,
        },
    }
    for name, sums in expected_sums.items():
        histogram = points(metrics[name])
        assert {k: (p.count, p.sum) for k, p in histogram.items()} == {
            k: (1, s) for k, s in sums.items()
        }, name
        for point in histogram.values():
            assert len(point.positive.bucket_counts) <= 640
            assert sum(point.positive.bucket_counts) + point.zero_count == point.count


def test_delta_points_hold_only_the_interval() -> None:
    telemetry, reader = make_telemetry()
    telemetry.record(FAILED_COMPLETION, TARGET)
    collect(reader)
    telemetry.record(FAILED_COMPLETION, TARGET)
    telemetry.record(FAILED_COMPLETION, TARGET)
    outcomes = points(collect(reader)["llmhealth.probe.outcomes"])
    assert [p.value for p in outcomes.values()] == [2]


def test_histograms_use_640_buckets() -> None:
    telemetry, reader = make_telemetry()
    for duration in (1.0, 3.99):
        telemetry.record(replace(FAILED_COMPLETION, duration_s=duration), TARGET)
    (point,) = points(collect(reader)["gen_ai.client.operation.duration"]).values()
    # A 4x range fits 640 buckets at scale 8 (2^8 buckets per doubling); 320 would force 7.
    assert point.scale == 8
    assert len(point.positive.bucket_counts) <= 640


@pytest.mark.parametrize(
    ("base_url", "server"),
    [
        ("https://api.openai.com/v1", ("api.openai.com", 443)),
        ("http://127.0.0.1:8900/v1", ("127.0.0.1", 8900)),
        ("http://[::1]/v1", ("::1", 80)),
    ],
)
def test_server_of(base_url: str, server: tuple[str, int]) -> None:
    assert server_of(base_url) == server


@pytest.mark.parametrize("base_url", ["http:///v1", "http://host:99999/v1", "http://host:x/v1"])
def test_server_of_rejects(base_url: str) -> None:
    with pytest.raises(ValueError):
        server_of(base_url)


def test_thousands_of_targets_keep_their_identity() -> None:
    telemetry, reader = make_telemetry()
    outcomes = ("ok", "timeout", "http_5xx")
    for i in range(1500):
        target = TARGET.model_copy(update={"name": f"t{i}"})
        for kind in ("completion", "stream"):
            for outcome in outcomes:
                telemetry.record(replace(FAILED_COMPLETION, target=target.name, kind=kind,
                                         outcome=outcome), target)
    counts = points(collect(reader)["llmhealth.probe.outcomes"])
    assert len(counts) == 1500 * 2 * len(outcomes)  # 9,000 sets: none folded into an overflow set
    assert all("otel.metric.overflow" not in dict(k) for k in counts)
