"""The answers of `GET /api/health/summary`, `/detailed` and `/targets/{target}` (docs/api.md):
pydantic models, so that /openapi.json describes every field. Ratios are 0..1, durations in
seconds (`_s`), times ISO 8601 in UTC; null where the store has no value (no latency without a
successful probe, no availability before the target's first minute)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["healthy", "degraded", "unhealthy", "rate_limited", "unknown"]
Breaker = Literal["closed", "open", "half_open"]
STATUSES: tuple[Status, ...] = ("healthy", "degraded", "unhealthy", "rate_limited", "unknown")
WORST_FIRST: tuple[Status, ...] = ("unhealthy", "rate_limited", "degraded", "unknown", "healthy")
"""The health model's order (docs/health-model.md): a target takes its worst kind's verdict."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Freshness(Model):
    """How old the state is. `stale` when no evaluation has been read yet, or the last one is
    older than `stale_after_s` (3 aggregator intervals): then every status is as of
    `evaluated_at`, not now."""

    evaluated_at: datetime | None = Field(description="the evaluated instant the state is as of")
    age_s: float | None = Field(description="seconds from evaluated_at to this answer")
    stale: bool
    stale_after_s: float


class Quantiles(Model):
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class Rule(Model):
    """One rule the verdict checked: the value it was judged on, its limit, whether it held."""

    name: str
    value: float | None
    limit: float | None
    held: bool


class KindBreaker(Model):
    """A probe kind's circuit breaker. `cooldown_ends_at`: when an open breaker goes half-open
    (aggregator.breaker.cooldown after it opened); null unless open."""

    state: Breaker | Literal[""]
    since: datetime | None
    reason: str
    cooldown_ends_at: datetime | None


class KindHealth(Model):
    """One probe kind of a target over its rule window (the status window, started again when its
    breaker closed after an outage)."""

    kind: str
    verdict: Status
    reason: str
    breaker: KindBreaker
    consecutive_failures: int
    consecutive_successes: int
    last_probe_at: datetime | None
    last_outcome: str = Field(description="ok or the error type of the kind's last probe")
    last_failure: str = Field(description="error type of the kind's last failure, '' if none")
    requests: float
    errors: float
    error_rate: float
    errors_by_type: dict[str, float]
    latency_s: Quantiles
    ttft_s: Quantiles
    rules: list[Rule]


class RateLimit(Model):
    """The provider's rate limit of one resource (`requests`, `tokens`, …), as last reported in the
    status window. `headroom` = remaining / limit."""

    resource: str
    remaining: float | None
    limit: float | None
    headroom: float | None
    resets_at: datetime | None


class Exhaustion(Model):
    """The rate-limit exhaustion forecast (docs/health-model.md, "Rate-limit forecast"): the
    resource that runs out soonest at the current rate before its limit resets."""

    resource: str
    in_s: float = Field(description="seconds from the evaluated instant until it reaches 0")
    reset_in_s: float | None = Field(description="seconds until the limit resets (null: the "
                                                 "provider reports no reset)")


class RetryAfter(Model):
    """The last `retry-after` a provider sent in the status window; the prober holds the target's
    next probe until `until` (reported_at + min(seconds, prober.retry_after_max))."""

    seconds: float
    reported_at: datetime
    until: datetime


class Availability(Model):
    """Calendar-aligned windows ending at the last SLO row (health_slo, once a minute)."""

    by_time: dict[str, float | None] = Field(
        description="available minutes / minutes with a probe result, per window (1h, 24h, 7d, 30d)")
    by_execution: dict[str, float | None] = Field(
        description="successful probes / probes (reachability), per window")
    rate_limited: dict[str, float | None] = Field(
        description="rate-limited probes (left out of both), per window")
    by_applications: dict[str, float | None] = Field(
        default_factory=dict,
        description="as users saw it: the applications' successful requests / their requests "
                    "(429s left out), per window; null without any")
    application_requests: dict[str, float | None] = Field(
        default_factory=dict,
        description="the applications' requests matched to the target (429s left out), per window")
    burn_rates: dict[str, float | None] = Field(description="SLO burn rate per window (5m … 3d), "
                                                            "probes and applications' requests together")
    burn_page: bool | None
    burn_ticket: bool | None


class TargetHealth(Model):
    """One target at the evaluated instant. Counts, quantiles and error types are over the status
    window (`window_s`); `requests`, `errors` and `error_rate` are the deciding kind's."""

    target: str
    provider: str
    model: str
    pool: str | None
    status: Status
    reason: str
    status_since: datetime | None
    previous_status: str
    deciding_kind: str
    rules: list[Rule] = Field(description="the target-level rules checked (each kind's are in kinds)")
    kinds: list[KindHealth]
    window_s: float
    requests: float
    errors: float
    error_rate: float
    error_rate_lower: float = Field(description="90 % one-sided Wilson lower bound of error_rate")
    errors_by_type: dict[str, float]
    passive_requests: float
    passive_errors: float
    passive_latency_s: Quantiles = Field(
        default_factory=Quantiles,
        description="the applications' successful requests' duration over the status window")
    latency_s: Quantiles
    ttft_s: Quantiles
    tokens_per_second_p50: float | None
    stream_completion_rate: float | None
    ratelimit_remaining_min: float | None
    rate_limits: list[RateLimit]
    ratelimit_exhaustion: Exhaustion | None = Field(
        default=None, description="null when no rate limit runs out before its reset at the current rate")
    context_preservation_rate: float | None = Field(
        default=None, description="context probes whose second turn kept the first / context probes "
                                  "answered, over the status window (null without any)")
    retry_after: RetryAfter | None
    availability: Availability | None
    last_probe_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_type: str | None


class PoolHealth(Model):
    """A pool: healthy when every member is, degraded when some are down (health-model.md)."""

    pool: str
    status: Status
    reason: str
    status_since: datetime | None
    previous_status: str
    members: list[str]
    member_status: dict[str, Status]
    requests: float
    errors: float
    error_rate: float


class Summary(Model):
    """Counts by status, the overall state (the pool rule over every target: healthy when all
    are, degraded when some are down, unhealthy when none is healthy or degraded), the worst
    targets first."""

    freshness: Freshness
    overall: Status
    targets: int
    pools: int
    counts: dict[str, int] = Field(description="targets per status (every status listed)")
    pool_counts: dict[str, int]
    worst: list[WorstTarget]


class WorstTarget(Model):
    target: str
    status: Status
    reason: str
    since: datetime | None
    error_rate: float


class Unmatched(Model):
    """Applications' requests that no target claimed over the hour before the evaluated instant
    (`SELECT * FROM health_passive_unmatched` lists them by source)."""

    requests_1h: float = 0.0
    errors_1h: float = 0.0


class Detailed(Model):
    freshness: Freshness
    targets: list[TargetHealth]
    pools: list[PoolHealth]
    unmatched: Unmatched = Field(default_factory=Unmatched)


class TargetAnswer(Model):
    """One name: `target` is set for a target, `pool` for a pool."""

    freshness: Freshness
    kind: Literal["target", "pool"]
    target: TargetHealth | None = None
    pool: PoolHealth | None = None


class NotFound(Model):
    """An unknown name; `valid` lists the names that are known (targets, pools or models)."""

    detail: str
    valid: list[str]


class Unavailable(Model):
    detail: str


Summary.model_rebuild()
