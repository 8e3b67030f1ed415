"""`GET /api/health/route` on fixed states: members ranked for a router (status, then TTFT or
latency p90), breakers, cooldowns and retry-after, failing open when no member is usable, and
a stale state said to be stale. The states are built from rows shaped as api_state.sql returns
them (`row`), which other API tests import."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aggregator.api.errors import ParameterError, UnknownName
from aggregator.api.route import rank, route_answer
from aggregator.api_state import ApiState, HealthView
from llmhealth_config.model import Config

AT = datetime(2030, 5, 1, 12, 0, 0, tzinfo=UTC)
CONFIG = Config.model_validate({
    "targets": [{"name": n, "base_url": "http://127.0.0.1:9/v1", "model": m, "pool": "chat",
                 "probes": ["completion", "stream"]}
                for n, m in (("a", "m1"), ("b", "m1"), ("c", "m2"), ("d", "m2"))],
    "aggregator": {"interval": "2s", "breaker": {"cooldown": "5s"}},
    "prober": {"retry_after_max": "30s"}})


def kind(name: str, breaker: str = "closed", since: datetime = AT - timedelta(minutes=1),
         **fields: Any) -> str:
    """One probe kind as api_state.sql's `kinds_json` has it."""
    return json.dumps({"probe_kind": name, "verdict": fields.pop("verdict", "healthy"),
                       "reason": "", "breaker": breaker, "breaker_since_s": since.timestamp(),
                       "breaker_reason": "", "consecutive_failures": 0,
                       "consecutive_successes": 3, "last_failure": "",
                       "last_probe_at_s": (AT - timedelta(seconds=1)).timestamp(),
                       "last_outcome": "ok", "requests": "30", "errors": 0, "error_rate": 0.0,
                       "errors_by_type": {}, "rules": [], **fields})


def row(target: str, status: str = "healthy", *, pool: str = "chat",
        kinds: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """A target's row as api_state.sql returns it (defaults: healthy, both kinds closed); its
    provider and model are the configuration's."""
    return {"target": target, "kind": "target", "status": status, "reason": f"{target} {status}",
            "status_since_s": (AT - timedelta(minutes=5)).timestamp(), "previous_status": "",
            "pool": pool, "window_seconds": 300,
            "requests": 30, "errors": 0, "error_rate": 0.0,
            "last_probe_at_s": (AT - timedelta(seconds=1)).timestamp(),
            "kinds_json": kinds if kinds is not None else [kind("completion"), kind("stream")],
            **fields}


def pool_row(name: str, status: str) -> dict[str, Any]:
    return {"target": name, "kind": "pool", "status": status, "reason": "", "pool": name}


def view_of(*rows: dict[str, Any], instant: datetime = AT) -> HealthView:
    return HealthView.from_rows(list(rows), CONFIG, instant, instant.timestamp())


def state_at(view: HealthView, now: datetime) -> ApiState:
    state = ApiState(None, CONFIG, clock=now.timestamp)
    state.view = view
    return state


def routed(view: HealthView, now: datetime = AT + timedelta(seconds=1), **query: str):
    state = state_at(view, now)
    return route_answer(state, view, query.get("pool"), query.get("model"), now.timestamp())


def test_members_rank_by_status_then_ttft_or_latency() -> None:
    view = view_of(
        row("a", ttft_p90_s=0.9, latency_p90_s=0.2),
        row("b", ttft_p90_s=0.3, latency_p90_s=2.0),
        row("c", "degraded", latency_p90_s=0.05),
        row("d", "unknown"))
    answer = routed(view, pool="chat")
    assert [(m.rank, m.target, m.status, m.ranked_by, m.speed_p90_s) for m in answer.members] == [
        (1, "b", "healthy", "ttft_p90", 0.3),
        (2, "a", "healthy", "ttft_p90", 0.9),
        (3, "c", "degraded", "latency_p90", 0.05),
        (4, "d", "unknown", None, None)]
    assert not answer.fail_open and answer.excluded == []
    assert all(m.usable and m.why_not is None for m in answer.members)
    assert answer.freshness.stale is False and answer.freshness.age_s == 1.0
    assert answer.members[0].data_age_s == 2.0


def test_down_members_are_excluded_with_the_reason_and_when_their_cooldown_ends() -> None:
    opened = AT - timedelta(seconds=2)
    view = view_of(
        row("a", "unhealthy", kinds=[kind("completion", "open", opened), kind("stream")]),
        row("b", "rate_limited", retry_after_s=60, retry_after_reported_s=AT.timestamp()),
        row("c", "healthy", kinds=[kind("completion", "open", opened)]),
        row("d", "healthy", latency_p90_s=0.4))
    answer = routed(view, pool="chat")
    assert [m.target for m in answer.members] == ["d"]
    assert [(m.rank, m.target, m.usable, m.why_not) for m in answer.excluded] == [
        (2, "c", False, "breaker open: completion"),
        (3, "b", False, "status rate_limited"),
        (4, "a", False, "status unhealthy")]
    breaker = answer.excluded[2].breakers[0]
    assert (breaker.kind, breaker.state, breaker.cooldown_ends_at) == (
        "completion", "open", opened + timedelta(seconds=5))
    assert answer.excluded[2].breakers[1].cooldown_ends_at is None
    # the prober waits min(retry-after, prober.retry_after_max)
    assert answer.excluded[1].retry_after.until == AT + timedelta(seconds=30)


def test_a_half_open_breaker_ranks_after_closed_ones_of_the_same_status() -> None:
    view = view_of(row("a", latency_p90_s=0.1, kinds=[kind("completion", "half_open")]),
                   row("b", latency_p90_s=0.9))
    assert [m.target for m in routed(view, pool="chat").members] == ["b", "a", "c", "d"]


def test_a_retry_after_excludes_a_member_until_it_ends() -> None:
    view = view_of(row("a", latency_p90_s=0.1, retry_after_s=10,
                       retry_after_reported_s=AT.timestamp()),
                   row("b", latency_p90_s=0.5))
    during = routed(view, AT + timedelta(seconds=5), pool="chat")
    assert [m.target for m in during.members] == ["b", "c", "d"]
    assert during.excluded[0].why_not.startswith("retry-after in force until 2030-05-01T12:00:10")
    after = routed(view, AT + timedelta(seconds=11), pool="chat")
    assert [m.target for m in after.members][:2] == ["a", "b"]


def test_when_every_member_is_down_it_fails_open_with_all_of_them_flagged() -> None:
    view = view_of(row("a", "unhealthy", latency_p90_s=3.0),
                   row("b", "rate_limited"),
                   row("c", "unhealthy", latency_p90_s=1.0),
                   row("d", "healthy", kinds=[kind("completion", "open")]))
    answer = routed(view, pool="chat")
    assert answer.fail_open is True and answer.excluded == []
    assert [(m.rank, m.target, m.usable) for m in answer.members] == [
        (1, "d", False), (2, "b", False), (3, "c", False), (4, "a", False)]
    assert [m.why_not for m in answer.members] == [
        "breaker open: completion", "status rate_limited", "status unhealthy", "status unhealthy"]


@pytest.mark.parametrize(("after_s", "stale"), [
    pytest.param(0.5, False, id="just-read"),
    pytest.param(6.0, False, id="three-intervals"),
    pytest.param(6.5, True, id="older-than-three-intervals"),
    pytest.param(3600, True, id="worker-stopped"),
])
def test_a_state_older_than_three_intervals_is_stale(after_s: float, stale: bool) -> None:
    answer = routed(view_of(row("a")), AT + timedelta(seconds=after_s), pool="chat")
    assert (answer.freshness.stale, answer.freshness.age_s) == (stale, after_s)
    assert answer.freshness.evaluated_at == AT and answer.freshness.stale_after_s == 6.0


def test_before_the_first_evaluation_every_member_is_unknown_and_stale() -> None:
    view = HealthView.empty(CONFIG)
    answer = routed(view, pool="chat")
    assert answer.freshness.model_dump() == {"evaluated_at": None, "age_s": None, "stale": True,
                                             "stale_after_s": 6.0}
    assert [(m.target, m.status, m.reason) for m in answer.members] == [
        (n, "unknown", "not evaluated yet") for n in "abcd"]


def test_a_model_routes_over_the_targets_serving_it() -> None:
    view = view_of(row("a", latency_p90_s=0.9), row("b", latency_p90_s=0.1),
                   row("c"), row("d"))
    answer = routed(view, model="m1")
    assert (answer.pool, answer.model) == (None, "m1")
    assert [m.target for m in answer.members] == ["b", "a"]


@pytest.mark.parametrize(("query", "what", "valid"), [
    pytest.param({"pool": "nope"}, "pool", ["chat"], id="pool"),
    pytest.param({"model": "nope"}, "model", ["m1", "m2"], id="model"),
])
def test_an_unknown_pool_or_model_lists_the_known_ones(query: dict, what: str,
                                                       valid: list[str]) -> None:
    with pytest.raises(UnknownName) as info:
        routed(view_of(row("a"), row("c")), **query)
    assert (info.value.what, info.value.valid) == (what, valid)


@pytest.mark.parametrize("query", [{}, {"pool": "chat", "model": "m1"}], ids=["none", "both"])
def test_exactly_one_of_pool_and_model(query: dict) -> None:
    with pytest.raises(ParameterError, match="^give exactly one of pool or model$"):
        routed(view_of(row("a")), **query)


def test_ranking_a_pool_takes_well_under_a_millisecond() -> None:
    rows = [row(f"t{i}", ("healthy", "degraded", "unhealthy")[i % 3], latency_p90_s=i / 10)
            for i in range(10)]
    view = view_of(*rows)
    names = [f"t{i}" for i in range(10)]
    state = state_at(view, AT)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        rank(view, names, AT, state.freshness(view, AT.timestamp()), pool="chat")
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.001, statistics.median(times)
