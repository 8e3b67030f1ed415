"""`GET /api/health/route?pool=NAME` (or `?model=NAME`): a pool's members (or a model's targets)
ranked for a router, from memory (docs/api.md, "Route").

Usable first: status `healthy`, then `degraded`, then `unknown`, each with no breaker open and no
`retry-after` in force; within a status, members whose breakers are all closed before those with
one half-open, then the fastest: TTFT p90 where the member streams, else latency p90 (a
`completion` probe asks for one token, so its latency is a time to first token too), then the
lowest error rate, then the name. `rate_limited` and `unhealthy` members, and those with a breaker
open or a retry-after in force, are `excluded` with the reason. When no member is usable the
answer fails open: every member, ranked the same way, `fail_open: true` and each `usable: false`,
so a router is never left with nothing. A stale state (`freshness.stale`) is said to be stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from aggregator.api.errors import NOT_FOUND, ParameterError, UnknownName
from aggregator.api.models import Freshness, Model, RetryAfter, Status, TargetHealth
from aggregator.api_state import ApiState, HealthView

ROUTE_ORDER: tuple[Status, ...] = ("healthy", "degraded", "unknown", "rate_limited", "unhealthy")
USABLE: frozenset[str] = frozenset({"healthy", "degraded", "unknown"})
router = APIRouter(prefix="/api/health", tags=["route"])


class RouteBreaker(Model):
    kind: str
    state: str
    since: datetime | None
    cooldown_ends_at: datetime | None = Field(description="when an open breaker goes half-open")


class RouteMember(Model):
    rank: int = Field(description="1 for the member to try first")
    target: str
    provider: str
    model: str
    status: Status
    reason: str
    usable: bool
    why_not: str | None = Field(description="why it is not usable; null when it is")
    ranked_by: Literal["ttft_p90", "latency_p90"] | None
    speed_p90_s: float | None = Field(description="the TTFT or latency p90 it was ranked on")
    ttft_p90_s: float | None
    latency_p90_s: float | None
    error_rate: float
    breakers: list[RouteBreaker]
    retry_after: RetryAfter | None = Field(
        description="the last retry-after of the status window; in force while `until` is ahead")
    last_probe_at: datetime | None
    data_age_s: float | None = Field(description="seconds since the member's newest probe result")


class RouteAnswer(Model):
    pool: str | None
    model: str | None
    freshness: Freshness
    fail_open: bool = Field(description="no member is usable: `members` lists them all")
    members: list[RouteMember]
    excluded: list[RouteMember]


def _why_not(t: TargetHealth, now: datetime) -> str | None:
    if t.status not in USABLE:
        return f"status {t.status}"
    opened = [k.kind for k in t.kinds if k.breaker.state == "open"]
    if opened:
        return f"breaker open: {', '.join(opened)}"
    if t.retry_after is not None and t.retry_after.until > now:
        return f"retry-after in force until {t.retry_after.until.isoformat()}"
    return None


def _key(t: TargetHealth) -> tuple:
    speed = t.ttft_s.p90 if t.ttft_s.p90 is not None else t.latency_s.p90
    half_open = any(k.breaker.state == "half_open" for k in t.kinds)
    return (ROUTE_ORDER.index(t.status), half_open, speed is None, speed or 0.0, t.error_rate,
            t.target)


def _member(rank: int, t: TargetHealth, why_not: str | None, now: datetime) -> RouteMember:
    by_ttft = t.ttft_s.p90 is not None
    speed = t.ttft_s.p90 if by_ttft else t.latency_s.p90
    return RouteMember(
        rank=rank, target=t.target, provider=t.provider, model=t.model, status=t.status,
        reason=t.reason, usable=why_not is None, why_not=why_not,
        ranked_by=None if speed is None else ("ttft_p90" if by_ttft else "latency_p90"),
        speed_p90_s=speed, ttft_p90_s=t.ttft_s.p90, latency_p90_s=t.latency_s.p90,
        error_rate=t.error_rate,
        breakers=[RouteBreaker(kind=k.kind, state=k.breaker.state, since=k.breaker.since,
                               cooldown_ends_at=k.breaker.cooldown_ends_at) for k in t.kinds],
        retry_after=t.retry_after, last_probe_at=t.last_probe_at,
        data_age_s=None if t.last_probe_at is None
        else round(max(0.0, (now - t.last_probe_at).total_seconds()), 3))


def rank(view: HealthView, names: list[str], now: datetime, freshness: Freshness, *,
         pool: str | None = None, model: str | None = None) -> RouteAnswer:
    """Targets `names` of `view` ranked for a router at `now` (see the module's text)."""
    ordered = sorted((view.targets[n] for n in names if n in view.targets), key=_key)
    judged = [(t, _why_not(t, now)) for t in ordered]
    usable = [t for t, why in judged if why is None]
    fail_open = not usable
    members = judged if fail_open else [(t, None) for t in usable]
    excluded = [] if fail_open else [(t, why) for t, why in judged if why is not None]
    return RouteAnswer(
        pool=pool, model=model, freshness=freshness, fail_open=fail_open,
        members=[_member(i, t, why, now) for i, (t, why) in enumerate(members, 1)],
        excluded=[_member(i, t, why, now)
                  for i, (t, why) in enumerate(excluded, len(members) + 1)])


def route_answer(state: ApiState, view: HealthView, pool: str | None, model: str | None,
                 now: float) -> RouteAnswer:
    if (pool is None) == (model is None):
        raise ParameterError("give exactly one of pool or model")
    if pool is not None:
        if pool not in view.pools:
            raise UnknownName("pool", list(view.pools))
        names = view.pools[pool].members
    else:
        if model not in view.models:
            raise UnknownName("model", list(view.models))
        names = list(view.models[model])
    return rank(view, names, datetime.fromtimestamp(now, UTC), state.freshness(view, now), pool=pool, model=model)


Name = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.get("/route", response_model=RouteAnswer, responses=NOT_FOUND)
async def get_route(request: Request, pool: Name = None, model: Name = None) -> RouteAnswer:
    """The members of `pool` (or the targets of `model`), ranked for a router; exactly one of
    the two. Answers from memory: a router may call it before each request."""
    state: ApiState = request.app.state.health
    return route_answer(state, state.view, pool, model, state.clock())
