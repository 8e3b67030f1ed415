"""`GET /metrics`: the health state in the Prometheus text format, rendered with
prometheus-client at each scrape from what `MetricsState` keeps in memory (a scrape never
queries the store). docs/alerting.md lists every metric; deploy/prometheus/rules.yml alerts
on them.

States are one-hot: a target's `llmhealth_target_status` has one series per status, 1 for its
status and 0 for the others, and so has each probe kind's `llmhealth_breaker_state`. A value the
store does not have (no latency without a successful probe, no SLO row yet) has no series. Label
values are the names the operator chose; the exposition escapes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aggregator.metrics_state import (
    AVAILABILITY_WINDOWS,
    BURN_WINDOWS,
    PERCENTILES,
    STATUSES,
    HealthState,
    MetricsState,
    Pace,
    TargetHealth,
)

BREAKER_STATES = ("closed", "half_open", "open")


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _one_hot(family: GaugeMetricFamily, labels: list[str], value: str,
             values: tuple[str, ...]) -> None:
    for each in values:
        family.add_metric([*labels, each], 1.0 if each == value else 0.0)


def target_families(targets: Iterable[TargetHealth]) -> list[Metric]:
    """Every per-target family, with a series for each value the state has."""
    targets = tuple(targets)
    return [*_status_families(targets), *_kind_families(targets), *_slo_families(targets),
            *_ratelimit_families(targets), *_forecast_context_families(targets)]


def _status_families(targets: tuple[TargetHealth, ...]) -> list[Metric]:
    status = _gauge("llmhealth_target_status", "1 for the target's status (healthy, degraded, "
                    "unhealthy, rate_limited, unknown), 0 for the others; pool is its pool or ''",
                    ["target", "pool", "status"])
    requests = _gauge("llmhealth_target_requests", "Requests of the probe kind that decided the "
                      "target's status, over its rule window (as llmhealth status shows them)",
                      ["target"])
    errors = _gauge("llmhealth_target_errors", "Failed requests of the deciding probe kind, over "
                    "its rule window", ["target"])
    error_ratio = _gauge("llmhealth_target_error_ratio", "Failed / all requests of the deciding "
                         "probe kind, over its rule window", ["target"])
    latency = _gauge("llmhealth_target_latency_seconds", "Probe latency percentile over the status "
                     "window (completion and http probes)", ["target", "percentile"])
    ttft = _gauge("llmhealth_target_ttft_seconds", "Time to first token percentile over the status "
                  "window (stream probes)", ["target", "percentile"])
    for t in targets:
        _one_hot(status, [t.target, t.pool], t.status, STATUSES)
        requests.add_metric([t.target], t.requests)
        errors.add_metric([t.target], t.errors)
        error_ratio.add_metric([t.target], t.error_rate)
        for family, values in ((latency, t.latency), (ttft, t.ttft)):
            for p in PERCENTILES:
                if values.get(p) is not None:
                    family.add_metric([t.target, p], values[p])
    return [status, requests, errors, error_ratio, latency, ttft]


def _kind_families(targets: tuple[TargetHealth, ...]) -> list[Metric]:
    breaker = _gauge("llmhealth_breaker_state", "1 for the circuit breaker state of the target's "
                     "probe kind (closed, half_open, open), 0 for the others",
                     ["target", "kind", "state"])
    requests = _gauge("llmhealth_kind_requests", "Probes of the kind over its rule window (the "
                      "status window, started again when its breaker closed after an outage)",
                      ["target", "kind"])
    errors = _gauge("llmhealth_kind_errors", "Failed probes of the kind over its rule window",
                    ["target", "kind"])
    error_ratio = _gauge("llmhealth_kind_error_ratio", "Failed / all probes of the kind over its "
                         "rule window", ["target", "kind"])
    for t in targets:
        for k in t.kinds:
            _one_hot(breaker, [t.target, k.kind], k.breaker, BREAKER_STATES)
            requests.add_metric([t.target, k.kind], k.requests)
            errors.add_metric([t.target, k.kind], k.errors)
            error_ratio.add_metric([t.target, k.kind], k.error_rate)
    return [breaker, requests, errors, error_ratio]


def _slo_families(targets: tuple[TargetHealth, ...]) -> list[Metric]:
    availability = _gauge("llmhealth_target_availability_ratio", "Available minutes / minutes "
                          "with a probe result, over the window (health_slo)", ["target", "window"])
    reachability = _gauge("llmhealth_target_reachability_ratio", "Successful probes / probes, "
                          "over the window (health_slo)", ["target", "window"])
    burn = _gauge("llmhealth_target_slo_burn_rate", "(1 - reachability) / (1 - aggregator.slo) "
                  "over the window: 1 spends the error budget exactly over 30 days",
                  ["target", "window"])
    for t in targets:
        for family, values, windows in ((availability, t.availability, AVAILABILITY_WINDOWS),
                                        (reachability, t.reachability, AVAILABILITY_WINDOWS),
                                        (burn, t.burn_rates, BURN_WINDOWS)):
            for w in windows:
                if values.get(w) is not None:
                    family.add_metric([t.target, w], values[w])
    return [availability, reachability, burn]


def _ratelimit_families(targets: tuple[TargetHealth, ...]) -> list[Metric]:
    remaining = _gauge("llmhealth_ratelimit_remaining", "Requests or tokens (resource) the "
                       "provider last reported remaining, within the status window",
                       ["target", "resource"])
    limit = _gauge("llmhealth_ratelimit_limit", "The provider's last reported rate limit of the "
                   "resource, within the status window", ["target", "resource"])
    for t in targets:
        for resource, left, most in t.ratelimits:
            if left is not None:
                remaining.add_metric([t.target, resource], left)
            if most is not None:
                limit.add_metric([t.target, resource], most)
    return [remaining, limit]


def _forecast_context_families(targets: tuple[TargetHealth, ...]) -> list[Metric]:
    exhaustion = _gauge("llmhealth_ratelimit_exhaustion_seconds", "Seconds until the resource runs "
                        "out at the current rate, before its limit resets (the aggregator's "
                        "forecast; no series when none runs out)", ["target", "resource"])
    context = _gauge("llmhealth_target_context_preservation_ratio", "Context probes whose second "
                     "turn kept the first / context probes answered, over the status window",
                     ["target"])
    for t in targets:
        if t.exhaustion is not None:
            exhaustion.add_metric([t.target, t.exhaustion[0]], t.exhaustion[1])
        if t.context_preservation is not None:
            context.add_metric([t.target], t.context_preservation)
    return [exhaustion, context]


def state_families(state: HealthState | None, refresh_failures: int) -> list[Metric]:
    """Pools, storage lag, and which instant the served state describes."""
    pool = _gauge("llmhealth_pool_status", "1 for the pool's status, 0 for the others",
                  ["pool", "status"])
    newest = _gauge("llmhealth_storage_newest_point_timestamp_seconds", "Own time of the newest "
                    "point stored (health_points), when the state was read")
    lag = _gauge("llmhealth_storage_lag_seconds", "How old the newest stored point was when the "
                 "state was read (after the last evaluation)")
    instant = _gauge("llmhealth_metrics_state_timestamp_seconds", "The evaluated instant that the "
                     "target, pool, breaker and storage series describe")
    failures = CounterMetricFamily("llmhealth_metrics_refresh_failures", "Reads of the state after "
                                   "an evaluation that failed (the previous state stays served)",
                                   value=refresh_failures)
    if state is not None:
        for p in state.pools:
            _one_hot(pool, [p.pool], p.status, STATUSES)
        if state.newest_point is not None:
            newest.add_metric([], state.newest_point)
            lag.add_metric([], state.storage_lag_s)
        instant.add_metric([], state.instant.timestamp())
    return [pool, newest, lag, instant, failures]


def aggregator_families(pace: Pace | None, interval_s: float, slo: float,
                        evaluation_failing: bool | None) -> list[Metric]:
    """The aggregator's own pace: what `Worker` reports after each evaluation."""
    interval = _gauge("llmhealth_aggregator_interval_seconds", "aggregator.interval: time between "
                      "two evaluated instants")
    objective = _gauge("llmhealth_slo_objective_ratio", "aggregator.slo: the availability "
                       "objective of the burn rates")
    last = _gauge("llmhealth_aggregator_last_evaluation_timestamp_seconds", "The last instant "
                  "evaluated (the aligned instant, not the time the evaluation ran)")
    duration = _gauge("llmhealth_aggregator_cycle_duration_seconds", "How long the last "
                      "evaluation took")
    behind = _gauge("llmhealth_aggregator_behind", "1 when the last evaluation took longer than "
                    "aggregator.interval (missed instants are then skipped), else 0")
    failing = _gauge("llmhealth_aggregator_evaluation_failing", "1 when the worker's last run "
                     "failed (the store refused or did not answer; see its log), else 0")
    interval.add_metric([], interval_s)
    objective.add_metric([], slo)
    if pace is not None:
        last.add_metric([], pace.instant.timestamp())
        behind.add_metric([], 1.0 if pace.behind else 0.0)
        if pace.duration_s is not None:
            duration.add_metric([], pace.duration_s)
    if evaluation_failing is not None:
        failing.add_metric([], 1.0 if evaluation_failing else 0.0)
    return [interval, objective, last, duration, behind, failing]


class HealthCollector(Collector):
    """Renders a `MetricsState` at each scrape; reads only its in-memory state."""

    def __init__(self, metrics: MetricsState) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        state, pace = metrics.state, metrics.pace  # one reference each: a consistent view
        yield from target_families(state.targets if state is not None else ())
        yield from state_families(state, metrics.refresh_failures)
        yield from aggregator_families(pace, metrics.config.aggregator.interval,
                                       metrics.config.aggregator.slo, metrics.evaluation_failing)

    def describe(self) -> Iterator[Metric]:
        yield from target_families(())
        yield from state_families(None, 0)
        yield from aggregator_families(None, 0.0, 0.0, None)


def registry_for(metrics: MetricsState) -> CollectorRegistry:
    """A registry of its own (not prometheus-client's global one): the health state and this
    process's CPU, memory and file descriptors (`process_*`)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(HealthCollector(metrics))
    ProcessCollector(registry=registry)
    return registry
