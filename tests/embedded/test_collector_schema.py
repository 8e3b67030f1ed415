"""The real rotel binary writes every metric type into our otel_metrics_* DDL (RowBinary is
positional and typed: a column type that differs from what rotel sends fails or garbles)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from harness.ports import free_ports
from llmhealth.run import rotel
from tests.embedded.conftest import PASSWORD, Endpoint

pytestmark = pytest.mark.embedded


def _send_metrics(grpc_port: int) -> None:
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"http://127.0.0.1:{grpc_port}", insecure=True),
        export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "schema-test"}),
                             views=[View(instrument_name="exp", aggregation=ExponentialBucketHistogramAggregation())])
    meter = provider.get_meter("schema-test", "1.2.3")
    meter.create_counter("counter", unit="{x}").add(7, {"k": "v"})
    meter.create_gauge("gauge", unit="1").set(2.5, {"k": "v"})
    explicit = meter.create_histogram("explicit", unit="s")
    exp = meter.create_histogram("exp", unit="s")
    for value in (0.1, 0.2, 0.4):
        explicit.record(value, {"k": "v"})
        exp.record(value, {"k": "v"})
    provider.shutdown()  # flushes


def test_rotel_writes_every_table(store, endpoint: Endpoint, tmp_path: Path) -> None:
    grpc_port, http_port = free_ports(2)
    argv, env = rotel.command(grpc_port=grpc_port, http_port=http_port, store_url=endpoint.url,
                              database=store.database, user="default", password=PASSWORD,
                              batch_timeout_s=0.1)
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        _send_metrics(grpc_port)
        query = """SELECT
            (SELECT max(Value) FROM otel_metrics_sum WHERE MetricName = 'counter') AS counter,
            (SELECT max(Value) FROM otel_metrics_gauge WHERE MetricName = 'gauge') AS gauge,
            (SELECT max(Count) FROM otel_metrics_histogram WHERE MetricName = 'explicit') AS explicit,
            (SELECT max(Count) FROM otel_metrics_exponential_histogram WHERE MetricName = 'exp') AS exp"""
        deadline = time.monotonic() + 15
        while True:
            row = store.rows(query)[0]
            if all(row.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert row == {"counter": 7, "gauge": 2.5, "explicit": 3, "exp": 3}
        detail = store.rows("""SELECT ServiceName, ScopeName, ScopeVersion, Attributes, MetricUnit,
                                      Min, Max, Sum, AggregationTemporality, toYear(TimeUnix) AS year
                               FROM otel_metrics_exponential_histogram""")[0]
        assert detail["ServiceName"] == "schema-test" and detail["ScopeVersion"] == "1.2.3"
        assert detail["Attributes"] == {"k": "v"} and detail["MetricUnit"] == "s"
        assert (detail["Min"], detail["Max"]) == (0.1, 0.4) and abs(detail["Sum"] - 0.7) < 1e-9
        assert detail["year"] >= 2026
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    assert "error" not in output.lower(), output
