"""A minimal OTLP/gRPC metrics receiver for benchmarks: keeps running totals of the points
the prober exports (outcome counts and the schedule-delay histogram), nothing else.

The prober exports delta temporality, so totals are sums of points. Exponential histogram
buckets are merged at a common scale (the coarsest seen) to read quantiles at the end.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2 as service,
)
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2_grpc as service_grpc,
)


class MetricsSink(service_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self._delay_points: list[tuple[int, int, list[int], int]] = []  # scale, offset, counts, zero

    def reset(self) -> None:
        """Forget everything received so far (end of a warm-up)."""
        with self._lock:
            self.outcomes.clear()
            self._delay_points.clear()

    def Export(self, request, context):  # the gRPC method name
        with self._lock:
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        self._take(metric)
        return service.ExportMetricsServiceResponse()

    def _take(self, metric) -> None:
        if metric.name == "llmhealth.probe.outcomes":
            for point in metric.sum.data_points:
                outcome = next(a.value.string_value for a in point.attributes
                               if a.key == "llmhealth.probe.outcome")
                self.outcomes[outcome] += int(point.as_double or point.as_int)
        elif metric.name == "llmhealth.prober.schedule_delay":
            for point in metric.exponential_histogram.data_points:
                self._delay_points.append((point.scale, point.positive.offset,
                                           list(point.positive.bucket_counts), point.zero_count))

    def delay_quantiles(self, *qs: float) -> list[float]:
        """Quantiles of every schedule delay recorded, in seconds (bucket geometric midpoints;
        values in the zero bucket count as 0)."""
        with self._lock:
            points = list(self._delay_points)
        if not points:
            return [math.nan for _ in qs]
        scale = min(p[0] for p in points)
        merged: Counter[int] = Counter()
        zero = 0
        for point_scale, offset, counts, zeros in points:
            shift = point_scale - scale
            zero += zeros
            for i, count in enumerate(counts):
                merged[(offset + i) >> shift] += count
        total = zero + sum(merged.values())
        results = []
        for q in qs:
            rank, seen, value = q * total, zero, 0.0
            if rank > seen:
                for index in sorted(merged):
                    seen += merged[index]
                    if seen >= rank:
                        value = 2 ** ((index + 0.5) * 2.0**-scale)
                        break
            results.append(value)
        return results


def serve(port: int) -> tuple[grpc.Server, MetricsSink]:
    sink = MetricsSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service_grpc.add_MetricsServiceServicer_to_server(sink, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, sink
