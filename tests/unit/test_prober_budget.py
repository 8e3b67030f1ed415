"""Probe cost accounting and the per-target daily token budget."""

from __future__ import annotations

import pytest

from llmhealth_config.target import Price
from prober.budget import DAY_S, TokenBudget, cost_usd, failure_costs_nothing, tokens_spent
from prober.outcome import ProbeResult


def result(kind: str = "completion", **fields: object) -> ProbeResult:
    return ProbeResult(target="t", kind=kind, outcome=fields.pop("outcome", "ok"),
                       duration_s=0.1, **fields)


@pytest.mark.parametrize(("probe", "tokens"), [
    pytest.param(result(input_tokens=9, output_tokens=1, http_status=200), (9, 1), id="reported"),
    pytest.param(result(output_tokens=3, http_status=200), (0, 3), id="partly-reported"),
    pytest.param(result(http_status=200), (8, 1), id="estimated-completion"),
    pytest.param(result("stream", http_status=200, chunks=5), (8, 5), id="estimated-stream"),
    pytest.param(result(outcome="connect"), (0, 0), id="no-answer"),
    pytest.param(result(outcome="http_5xx", http_status=500), (0, 0), id="error-status"),
    pytest.param(result("models", http_status=200), (0, 0), id="models-is-free"),
    pytest.param(result("http", http_status=200), (0, 0), id="http-check-is-free"),
])
def test_tokens_spent(probe: ProbeResult, tokens: tuple[int, int]) -> None:
    assert tokens_spent(probe) == tokens


@pytest.mark.parametrize(("probe", "free"), [
    pytest.param(result(outcome="connect"), True, id="refused-connection"),
    pytest.param(result(outcome="dns"), True, id="dns"),
    pytest.param(result(outcome="http_5xx", http_status=500), True, id="error-status"),
    pytest.param(result(outcome="auth", http_status=401), True, id="auth"),
    pytest.param(result(outcome="http_429", http_status=429), False, id="rate-limited"),
    pytest.param(result(outcome="timeout"), False, id="timeout-may-have-generated"),
    pytest.param(result("stream", outcome="stream_interrupted", http_status=200, chunks=3), False,
                 id="cut-stream"),
    pytest.param(result(outcome="http_5xx", http_status=500, output_tokens=4), False,
                 id="error-with-usage"),
])
def test_failure_costs_nothing(probe: ProbeResult, free: bool) -> None:
    assert failure_costs_nothing(probe) is free


def test_cost() -> None:
    price = Price(input_per_mtok=2.5, output_per_mtok=10.0)
    assert cost_usd((8, 1), price) == pytest.approx((8 * 2.5 + 10.0) / 1e6)
    assert cost_usd((8, 1), None) is None


def test_budget_exhausts_and_resets_at_utc_midnight() -> None:
    now = [3 * DAY_S + 100.0]
    budget = TokenBudget(20, clock=lambda: now[0])
    budget.spend(9)
    assert not budget.exhausted() and budget.remaining() == 11
    budget.spend(11)
    assert budget.exhausted() and budget.remaining() == 0
    now[0] = 4 * DAY_S + 1.0
    assert not budget.exhausted() and budget.remaining() == 20


def test_no_limit_never_exhausts() -> None:
    budget = TokenBudget(None)
    budget.spend(10**9)
    assert not budget.exhausted() and budget.remaining() is None
