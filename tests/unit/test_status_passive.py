"""Applications' requests (passive traffic) in the API's state and in `llmhealth status`: their
latency beside the probes', their availability as users saw it, and the requests no target
claimed."""

from __future__ import annotations

from rich.console import Console

from aggregator.api.health import detailed
from aggregator.status_view import FIELDS, StatusReading, Unmatched, render, unmatched_note
from llmhealth.api_client import status_rows
from tests.unit.test_api_route import AT, row, state_at, view_of

SLO = {"has_slo": 1, "availability_1h": 1.0, "passive_requests_1h": 120.0,
       "passive_success_1h": 0.75, "passive_requests_24h": 0.0, "passive_success_24h": None}


def test_the_state_carries_the_applications_latency_availability_and_the_unmatched() -> None:
    view = view_of(row("a", passive_requests=120, passive_errors=30, passive_latency_p50_s=0.4,
                       passive_latency_p99_s=2.5, latency_p50_s=0.05, unmatched_requests_1h=42.0,
                       unmatched_errors_1h=40.0, **SLO),
                   row("b", unmatched_requests_1h=42.0, unmatched_errors_1h=40.0))
    a, b = view.targets["a"], view.targets["b"]
    assert (a.passive_latency_s.p50, a.passive_latency_s.p90, a.passive_latency_s.p99) == (0.4, None, 2.5)
    assert a.latency_s.p50 == 0.05  # the probes' own, apart
    assert a.availability is not None
    assert a.availability.by_applications == {"1h": 0.75, "24h": None, "7d": None, "30d": None}
    assert a.availability.application_requests["1h"] == 120.0
    assert a.availability.by_time["1h"] == 1.0
    assert b.passive_latency_s.p50 is None and b.availability is None
    answer = detailed(state_at(view, AT), view).model_dump(mode="json")
    assert answer["unmatched"] == {"requests_1h": 42.0, "errors_1h": 40.0}


def test_status_rows_and_table_show_the_applications_requests() -> None:
    view = view_of(row("a", "unhealthy", passive_requests=120, passive_errors=30,
                       passive_latency_p50_s=0.4))
    [shown] = status_rows({"freshness": {}, "targets": [view.targets["a"].model_dump(mode="json")],
                           "pools": []})
    assert set(FIELDS) <= set(shown)
    assert (shown["passive_requests"], shown["passive_errors"], shown["passive_latency_p50_ms"]) == \
        (120.0, 30.0, 400.0)
    console = Console(record=True, width=260)
    console.print(render([shown], Unmatched(requests=42.0, errors=40.0)))
    text = " ".join(console.export_text().split())
    assert "apps failed" in text and "30 of 120" in text
    assert "42 application requests in the last hour matched no target (40 failed)" in text


def test_no_unmatched_note_without_unmatched_requests() -> None:
    assert unmatched_note(None) is None
    assert unmatched_note(Unmatched(requests=0.0, errors=0.0)) is None
    assert StatusReading([], "API x").unmatched is None
