"""api_state.sql's rows as the API's models (aggregator/api/models.py). Every store interface
returns numbers its own way (float, int, a quoted 64-bit integer, NaN), times as seconds since
the epoch; this is the one place that reads them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.api.models import (
    STATUSES,
    Availability,
    Exhaustion,
    KindBreaker,
    KindHealth,
    PoolHealth,
    Quantiles,
    RateLimit,
    RetryAfter,
    Rule,
    Status,
    TargetHealth,
)
from llmhealth_config.model import Config

WINDOWS = ("1h", "24h", "7d", "30d")
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")
BREAKERS = ("closed", "open", "half_open")


def number(value: object) -> float | None:
    if value is None or value == "":
        return None
    result = float(value)  # type: ignore[arg-type]
    return None if math.isnan(result) else result


def moment(seconds: object) -> datetime | None:
    """A time in seconds since the epoch (0 or none: no time)."""
    value = number(seconds)
    return datetime.fromtimestamp(value, UTC) if value else None


def status(value: object) -> Status:
    return value if value in STATUSES else "unknown"  # type: ignore[return-value]


def _quantiles(row: Mapping[str, Any], prefix: str) -> Quantiles:
    return Quantiles(**{p: number(row.get(f"{prefix}_{p}_s")) for p in ("p50", "p90", "p99")})


def _rules(items: Sequence[Any]) -> list[Rule]:
    """Rules as JSON objects (or as (name, value, limit, held) sequences)."""
    rules = []
    for item in items:
        name, value, limit, held = ((item["name"], item["value"], item["limit"], item["held"])
                                    if isinstance(item, Mapping) else item)
        rules.append(Rule(name=str(name), value=number(value), limit=number(limit),
                          held=bool(held)))
    return rules


def _counts(keys: Sequence[Any] | None, values: Sequence[Any] | None) -> dict[str, float]:
    return {str(k): number(v) or 0.0 for k, v in zip(keys or (), values or (), strict=True)}


def _breaker(state: object, since_s: object, reason: object, cooldown_s: float) -> KindBreaker:
    since = moment(since_s)
    state = state if state in BREAKERS else ""
    ends = since + timedelta(seconds=cooldown_s) if state == "open" and since else None
    return KindBreaker(state=state, since=since, reason=str(reason or ""), cooldown_ends_at=ends)


def kind_health(text: str, cooldown_s: float) -> KindHealth:
    """One probe kind from its JSON object (api_state.sql's `kinds_json`)."""
    k = json.loads(text)
    errors = k.get("errors_by_type") or {}
    return KindHealth(
        kind=str(k["probe_kind"]), verdict=status(k.get("verdict")), reason=str(k.get("reason") or ""),
        breaker=_breaker(k.get("breaker"), k.get("breaker_since_s"), k.get("breaker_reason"),
                         cooldown_s),
        consecutive_failures=int(number(k.get("consecutive_failures")) or 0),
        consecutive_successes=int(number(k.get("consecutive_successes")) or 0),
        last_probe_at=moment(k.get("last_probe_at_s")), last_outcome=str(k.get("last_outcome") or ""),
        last_failure=str(k.get("last_failure") or ""),
        requests=number(k.get("requests")) or 0.0, errors=number(k.get("errors")) or 0.0,
        error_rate=number(k.get("error_rate")) or 0.0,
        errors_by_type=_counts(list(errors), list(errors.values())),
        latency_s=_quantiles(k, "latency"), ttft_s=_quantiles(k, "ttft"),
        rules=_rules(k.get("rules") or ()))


def _rate_limit(text: str) -> RateLimit:
    r = json.loads(text)
    remaining, limit = number(r.get("remaining")), number(r.get("limit"))
    return RateLimit(resource=str(r["resource"]), remaining=remaining, limit=limit,
                     headroom=remaining / limit if remaining is not None and limit else None,
                     resets_at=moment(r.get("reset_at_s")))


def _retry_after(row: Mapping[str, Any], cap_s: float) -> RetryAfter | None:
    seconds, reported = number(row.get("retry_after_s")), moment(row.get("retry_after_reported_s"))
    if seconds is None or reported is None:
        return None
    return RetryAfter(seconds=seconds, reported_at=reported,
                      until=reported + timedelta(seconds=min(max(seconds, 0.0), cap_s)))


def _availability(row: Mapping[str, Any]) -> Availability | None:
    if not number(row.get("has_slo")):
        return None

    def pick(prefix: str, windows: tuple[str, ...]) -> dict[str, float | None]:
        return {w: number(row.get(f"{prefix}_{w}")) for w in windows}

    return Availability(by_time=pick("availability", WINDOWS),
                        by_execution=pick("reachability", WINDOWS),
                        rate_limited=pick("rate_limited", WINDOWS),
                        by_applications=pick("passive_success", WINDOWS),
                        application_requests=pick("passive_requests", WINDOWS),
                        burn_rates=pick("burn_rate", BURN_WINDOWS),
                        burn_page=bool(row.get("burn_page")), burn_ticket=bool(row.get("burn_ticket")))


def identity(name: str, config: Config) -> tuple[str, str]:
    """(provider, model) of target `name`: configured, or discovered on an endpoint as
    `<endpoint>/<model>` (probed as its endpoint, health-model.md)."""
    for target in config.targets:
        if target.name == name:
            return target.provider, target.model or ""
    for target in config.targets:
        if target.discover and name.startswith(f"{target.name}/"):
            return target.provider, name[len(target.name) + 1:]
    return "", ""


def target_health(row: Mapping[str, Any], config: Config,
                  previous: TargetHealth | None = None) -> TargetHealth:
    """A target from its row. The last success and failure come from the results stored since the
    previous state was read; without one there, the previous state's stay."""
    cooldown = config.aggregator.breaker.cooldown
    kinds = sorted((kind_health(t, cooldown) for t in row.get("kinds_json") or ()),
                   key=lambda k: k.kind)
    success, failure = moment(row.get("last_success_s")), moment(row.get("last_failure_s"))
    failure_type = str(row.get("last_failure_type") or "") or None
    if previous is not None:
        success = success or previous.last_success_at
        if failure is None:
            failure, failure_type = previous.last_failure_at, previous.last_failure_type
    provider, model = identity(str(row["target"]), config)
    return TargetHealth(
        target=str(row["target"]), provider=provider, model=model,
        pool=str(row.get("pool") or "") or None,
        status=status(row.get("status")), reason=str(row.get("reason") or ""),
        status_since=moment(row.get("status_since_s")),
        previous_status=str(row.get("previous_status") or ""),
        deciding_kind=str(row.get("deciding_kind") or ""),
        rules=_rules(list(zip(row.get("rule_names") or (), row.get("rule_values") or (),
                              row.get("rule_limits") or (), row.get("rule_held") or (), strict=True))),
        kinds=kinds, window_s=number(row.get("window_seconds")) or 0.0,
        requests=number(row.get("requests")) or 0.0, errors=number(row.get("errors")) or 0.0,
        error_rate=number(row.get("error_rate")) or 0.0,
        error_rate_lower=number(row.get("error_rate_lower")) or 0.0,
        errors_by_type=_counts(row.get("error_types"), row.get("error_counts")),
        passive_requests=number(row.get("passive_requests")) or 0.0,
        passive_errors=number(row.get("passive_errors")) or 0.0,
        passive_latency_s=_quantiles(row, "passive_latency"),
        latency_s=_quantiles(row, "latency"), ttft_s=_quantiles(row, "ttft"),
        tokens_per_second_p50=number(row.get("tokens_per_second_p50")),
        stream_completion_rate=number(row.get("stream_completion_rate")),
        ratelimit_remaining_min=number(row.get("ratelimit_remaining_min")),
        rate_limits=[_rate_limit(t) for t in row.get("ratelimits_json") or ()],
        ratelimit_exhaustion=_exhaustion(row),
        context_preservation_rate=number(row.get("context_preservation_rate")),
        retry_after=_retry_after(row, config.prober.retry_after_max),
        availability=_availability(row), last_probe_at=moment(row.get("last_probe_at_s")),
        last_success_at=success, last_failure_at=failure, last_failure_type=failure_type)


def _exhaustion(row: Mapping[str, Any]) -> Exhaustion | None:
    """The snapshot's soonest rate-limit run-out, if any."""
    seconds = number(row.get("ratelimit_exhausted_in_s"))
    if seconds is None:
        return None
    return Exhaustion(resource=str(row.get("ratelimit_exhausted_resource") or ""), in_s=seconds,
                      reset_in_s=number(row.get("ratelimit_reset_in_s")))


def unevaluated_target(name: str, config: Config,
                       previous: TargetHealth | None = None) -> TargetHealth:
    """A configured target without a snapshot at the state's instant (none read yet, or not
    evaluated then): `unknown`, keeping what a previous state knew of its last results."""
    provider, model = identity(name, config)
    pool = next((t.pool for t in config.targets if t.name == name), None)
    return TargetHealth(
        target=name, provider=provider, model=model, pool=pool,
        status="unknown", reason="not evaluated yet", status_since=None, previous_status="",
        deciding_kind="", rules=[], kinds=[], window_s=config.aggregator.window, requests=0.0,
        errors=0.0, error_rate=0.0, error_rate_lower=0.0, errors_by_type={}, passive_requests=0.0,
        passive_errors=0.0, latency_s=Quantiles(), ttft_s=Quantiles(), tokens_per_second_p50=None,
        stream_completion_rate=None, ratelimit_remaining_min=None, rate_limits=[],
        retry_after=None, availability=None, last_probe_at=None,
        last_success_at=previous.last_success_at if previous else None,
        last_failure_at=previous.last_failure_at if previous else None,
        last_failure_type=previous.last_failure_type if previous else None)


def pool_health(name: str, row: Mapping[str, Any] | None, members: Sequence[str],
                member_status: Mapping[str, Status]) -> PoolHealth:
    """A pool from its row (None: not evaluated at the state's instant, `unknown`)."""
    row = row or {"status": "unknown", "reason": "not evaluated yet"}
    return PoolHealth(
        pool=name, status=status(row.get("status")), reason=str(row.get("reason") or ""),
        status_since=moment(row.get("status_since_s")),
        previous_status=str(row.get("previous_status") or ""), members=list(members),
        member_status={m: member_status.get(m, "unknown") for m in members},
        requests=number(row.get("requests")) or 0.0, errors=number(row.get("errors")) or 0.0,
        error_rate=number(row.get("error_rate")) or 0.0)
