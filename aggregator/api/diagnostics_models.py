"""The answers of `GET /api/diagnostics` and `/api/diagnostics/activity` (docs/api.md,
Diagnostics): pydantic models, so that /openapi.json describes every field. The prober's part
has the shape of the prober's own `GET /activity` (prober/activity.py) and is validated against
these models when it is read. Durations in seconds (`_s`) or milliseconds (`_ms`), times ISO
8601 in UTC, byte counts as sent and received on the wire (headers estimated)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from aggregator.api.models import Model


class InFlightProbe(Model):
    """A probe the prober has started and not finished."""

    target: str
    kind: str = Field(description="the probe kind; `liveness` for the internal liveness probe of "
                                  "a backed-off target")
    endpoint: str = Field(description="scheme://host:port the probe talks to")
    state: Literal["waiting", "running"] = Field(
        description="waiting for a slot on its endpoint (prober.endpoint_concurrency), or running")
    started_at: datetime = Field(description="when the probe started (asked for its slot)")
    duration_s: float = Field(description="seconds since started_at")
    schedule_delay_s: float = Field(
        description="how late the request started against its planned instant (still growing "
                    "while waiting)")
    bytes_sent: int
    bytes_received: int


class LastProbe(Model):
    kind: str
    outcome: str = Field(description="ok or the error type (docs/metrics.md)")
    duration_s: float
    finished_at: datetime


class TargetActivity(Model):
    """One target's probes since the prober started."""

    target: str
    in_flight: int = Field(description="probes started and not finished, waiting ones included")
    waiting: int = Field(description="of those, probes waiting for an endpoint slot")
    finished: int = Field(description="probes finished since the prober started")
    failed: int = Field(description="of those, probes whose outcome was not ok")
    last: list[LastProbe] = Field(description="the last finished probe of each kind")


class ProberExport(Model):
    """Whether the collector takes the prober's exports (its heartbeat, prober.heartbeat_file)."""

    collector: str = Field(description="where the prober exports (collector.export_endpoint)")
    interval_s: float = Field(description="prober.export_interval")
    last_taken_at: datetime | None = Field(
        description="when the collector last took an export of this prober; null: not yet")
    age_s: float | None
    taken: bool = Field(description="the last export taken is younger than 3 export intervals")


class ProberActivity(Model):
    """The prober as its activity endpoint (prober.http_host/http_port) answered. When it could
    not be read, `reachable` is false, `error` says why and the lists are empty."""

    url: str = Field(description="the prober's endpoint read (aggregator.prober_url + /activity)")
    reachable: bool
    error: str | None = None
    at: datetime | None = Field(None, description="when the prober answered")
    started_at: datetime | None = Field(None, description="when the prober started")
    in_flight: list[InFlightProbe] = Field([], description="longest-running first")
    targets: list[TargetActivity] = Field([], description="by name")
    export: ProberExport | None = None


class ActivitySummary(Model):
    """`GET /api/diagnostics/activity`: the prober's part only (no store query)."""

    at: datetime = Field(description="when the aggregator answered")
    prober: ProberActivity


class Reachability(Model):
    address: str = Field(description="host:port connected to")
    reachable: bool
    latency_ms: float | None = Field(description="time to connect")
    error: str | None = None


class StoreDiagnostics(Model):
    """The store as this aggregator reads it: one query per request (diagnostics_lag.sql)."""

    reachable: bool
    latency_ms: float | None = Field(description="time the query took")
    error: str | None = None
    newest_point_at: datetime | None = Field(
        description="the newest point of the prober stored in the last day (its own time)")
    lag_s: float | None = Field(
        description="the store's now minus newest_point_at: grows when the pipeline stalls; "
                    "null without a point in the last day")


class AggregatorCycle(Model):
    """This aggregator's evaluations (its worker, as health_cycles records them)."""

    interval_s: float = Field(description="aggregator.interval")
    last_evaluated_at: datetime | None = Field(description="the last instant evaluated")
    last_cycle_ms: float | None = Field(description="how long that evaluation took")
    behind: bool = Field(description="the last evaluation took longer than interval_s")
    last_error: str | None = Field(description="why the last run failed; null when it did not")


class Diagnostics(Model):
    """`GET /api/diagnostics`: the prober, the collector, the store and the aggregator."""

    at: datetime = Field(description="when the aggregator answered")
    prober: ProberActivity
    collector: Reachability = Field(description="a TCP connection to collector.export_endpoint")
    store: StoreDiagnostics
    aggregator: AggregatorCycle | None = Field(
        description="null when this API runs without an evaluation worker")


class Forbidden(Model):
    detail: str
