"""The API's state, `llmhealth status` and `GET /metrics` carry two signals from the
snapshot: the rate-limit exhaustion forecast (null when nothing runs out before its reset) and
the context preservation rate."""

from __future__ import annotations

from rich.console import Console

from aggregator.metrics_state import HealthState
from aggregator.prometheus import target_families
from aggregator.status_view import FIELDS, render
from llmhealth.api_client import status_rows
from tests.unit.test_api_route import AT, row, view_of


def test_forecast_and_context_rate_from_the_snapshot_row() -> None:
    view = view_of(row("a", "degraded", ratelimit_exhausted_in_s=40.0,
                       ratelimit_exhausted_resource="tokens", ratelimit_reset_in_s="55",
                       context_preservation_rate=0.75),
                   row("b", ratelimit_exhausted_in_s=30.0, ratelimit_exhausted_resource="requests",
                       ratelimit_reset_in_s=None),
                   row("c", ratelimit_exhausted_in_s=None, ratelimit_exhausted_resource=""))
    a, b, c = (view.targets[name] for name in "abc")
    assert a.ratelimit_exhaustion is not None
    assert a.ratelimit_exhaustion.model_dump() == {"resource": "tokens", "in_s": 40.0, "reset_in_s": 55.0}
    assert a.context_preservation_rate == 0.75
    assert b.ratelimit_exhaustion is not None and b.ratelimit_exhaustion.reset_in_s is None
    assert (c.ratelimit_exhaustion, c.context_preservation_rate) == (None, None)
    assert view.targets["d"].ratelimit_exhaustion is None  # not evaluated


def test_status_shows_the_forecast_and_the_context_rate() -> None:
    """`llmhealth status` (read from the API): the JSON rows carry both, the table shows them."""
    view = view_of(row("a", "degraded", ratelimit_exhausted_in_s=40.0,
                       ratelimit_exhausted_resource="tokens", ratelimit_reset_in_s=55.0,
                       context_preservation_rate=0.75))
    detailed = {"freshness": {"evaluated_at": "2030-05-01T12:00:00Z"},
                "targets": [view.targets["a"].model_dump(mode="json")], "pools": []}
    [shown] = status_rows(detailed)
    assert {k: shown[k] for k in ("ratelimit_exhausted_resource", "ratelimit_exhausted_in_s",
                                  "context_preservation_rate")} == {
        "ratelimit_exhausted_resource": "tokens", "ratelimit_exhausted_in_s": 40.0,
        "context_preservation_rate": 0.75}
    assert set(FIELDS) <= set(shown)
    console = Console(record=True, width=240)
    console.print(render([shown]))
    text = console.export_text()
    assert "runs out" in text and "ctx %" in text
    assert "tokens 40 s" in text and "75.0" in text


def test_metrics_carry_the_forecast_and_the_context_rate() -> None:
    """`GET /metrics`: from metrics_state.sql's rows, a series per run-out forecast (none
    without) and per target with a context preservation rate."""
    rows = [{"target": "a", "kind": "target", "status": "degraded", "ratelimit_exhausted_in_s": 40.0,
             "ratelimit_exhausted_resource": "tokens", "context_preservation_rate": "0.75"},
            {"target": "b", "kind": "target", "status": "healthy", "ratelimit_exhausted_in_s": None,
             "ratelimit_exhausted_resource": "", "context_preservation_rate": None}]
    state = HealthState.from_rows(rows, AT, AT.timestamp())
    found = {(f.name, tuple(sorted(s.labels.items())), s.value)
             for f in target_families(state.targets) for s in f.samples
             if f.name in ("llmhealth_ratelimit_exhaustion_seconds",
                           "llmhealth_target_context_preservation_ratio")}
    assert found == {
        ("llmhealth_ratelimit_exhaustion_seconds", (("resource", "tokens"), ("target", "a")), 40.0),
        ("llmhealth_target_context_preservation_ratio", (("target", "a"),), 0.75)}
