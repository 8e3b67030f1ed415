"""OTLP load for the ingest benchmark: one counter with N series, exported every second.

Cumulative temporality (the SDK default) re-exports every series at each interval, so each
series is recorded once and the offered load is N rows/s with little CPU spent here.
"""

from __future__ import annotations

import sys
import time

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

PER_INSTRUMENT = 1_900


def main(grpc_port: int, series: int, seconds: float) -> None:
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"http://127.0.0.1:{grpc_port}", insecure=True, timeout=30),
        export_interval_millis=1000)
    provider = MeterProvider(metric_readers=[reader],
                             resource=Resource.create({"service.name": "bench-load"}))
    meter = provider.get_meter("bench")
    # The SDK caps an instrument at 2,000 attribute sets, so spread series over instruments.
    counters = [meter.create_counter(f"bench.rows.{i}") for i in range(series // PER_INSTRUMENT + 1)]
    for i in range(series):
        counters[i // PER_INSTRUMENT].add(1, {"series": str(i), "llmhealth.target": f"t{i % 1000}"})
    time.sleep(seconds)
    provider.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
