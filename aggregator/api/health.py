"""`GET /api/health/summary`, `/api/health/detailed` and `/api/health/targets/{target}`: the
state in memory (aggregator/api_state.py), never a query (docs/api.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from aggregator.api.errors import NOT_FOUND, UnknownName
from aggregator.api.models import Detailed, Summary, TargetAnswer, WorstTarget
from aggregator.api_state import ApiState, HealthView

WORST = 5
router = APIRouter(prefix="/api/health", tags=["health"])


def state_of(request: Request) -> ApiState:
    return request.app.state.health


def summary(state: ApiState, view: HealthView) -> Summary:
    return Summary(
        freshness=state.freshness(view), overall=view.overall(), targets=len(view.targets),
        pools=len(view.pools), counts=view.counts(), pool_counts=view.pool_counts(),
        worst=[WorstTarget(target=t.target, status=t.status, reason=t.reason,
                           since=t.status_since, error_rate=t.error_rate)
               for t in view.worst(WORST)])


def target_answer(state: ApiState, view: HealthView, name: str) -> TargetAnswer:
    """The target or pool `name`; raises UnknownName listing every known name."""
    if name in view.targets:
        return TargetAnswer(freshness=state.freshness(view), kind="target",
                            target=view.targets[name])
    if name in view.pools:
        return TargetAnswer(freshness=state.freshness(view), kind="pool", pool=view.pools[name])
    raise UnknownName("target", view.names)


@router.get("/summary", response_model=Summary)
async def get_summary(request: Request) -> Summary:
    """Counts by status, the overall state, the worst targets, and how fresh the state is."""
    state = state_of(request)
    return summary(state, state.view)


def detailed(state: ApiState, view: HealthView) -> Detailed:
    return Detailed(freshness=state.freshness(view), targets=list(view.targets.values()),
                    pools=list(view.pools.values()), unmatched=view.unmatched)


@router.get("/detailed", response_model=Detailed)
async def get_detailed(request: Request) -> Detailed:
    """Every target and pool with everything the state holds about it."""
    state = state_of(request)
    return detailed(state, state.view)


@router.get("/targets/{target:path}", response_model=TargetAnswer, responses=NOT_FOUND)
async def get_target(request: Request, target: str) -> TargetAnswer:
    """One target or pool, as `detailed` has it."""
    state = state_of(request)
    return target_answer(state, state.view, target)
