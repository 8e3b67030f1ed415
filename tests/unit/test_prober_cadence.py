"""Cadence: when a (target, kind) pair is probed next, rule by rule, on a virtual clock."""

from __future__ import annotations

import pytest

from prober.cadence import Cadence, CadenceRules

RULES = CadenceRules(interval=10.0, confirm_delay=2.0, backoff_after=3, backoff_max=60.0,
                     retry_after_max=300.0)
DURATION = 0.5  # every probe in these scenarios takes half a second


def run(outcomes: list[tuple[bool, float | None]], rules: CadenceRules = RULES) -> list[float]:
    """Planned start times of each probe, starting at t=0, for a sequence of (ok, retry_after)."""
    cadence = Cadence(rules, start=0.0)
    starts = [cadence.planned]
    for ok, retry_after in outcomes:
        starts.append(cadence.after(ok=ok, retry_after_s=retry_after, now=cadence.planned + DURATION))
    return starts


OK, FAIL = (True, None), (False, None)


@pytest.mark.parametrize(("outcomes", "starts"), [
    pytest.param([OK, OK, OK], [0, 10, 20, 30], id="steady-slots"),
    pytest.param([FAIL, FAIL], [0, 10, 20], id="first-failure-is-not-a-flip"),
    pytest.param([OK, FAIL, FAIL], [0, 10, 12.5, 20], id="flip-confirmed-within-2s"),
    pytest.param([OK, FAIL, OK, OK], [0, 10, 12.5, 20, 30], id="blip-cleared-by-confirmation"),
    pytest.param([FAIL, OK, OK], [0, 10, 12.5, 20], id="recovery-confirmed"),
    pytest.param([FAIL, FAIL, FAIL, FAIL, FAIL, FAIL], [0, 10, 20, 40, 80, 140, 200],
                 id="backoff-doubles-up-to-max"),
    pytest.param([FAIL, FAIL, FAIL, OK, OK], [0, 10, 20, 40, 42.5, 50], id="backoff-ends-on-success"),
    pytest.param([OK, (False, 45.0), OK], [0, 10, 55.5, 58.0], id="retry-after-overrides-confirm"),
    pytest.param([FAIL, (False, 1000.0)], [0, 10, 310.5], id="retry-after-capped"),
    pytest.param([(True, 45.0), OK], [0, 10, 20], id="retry-after-ignored-on-success"),
])
def test_planned_starts(outcomes: list[tuple[bool, float | None]], starts: list[float]) -> None:
    assert run(outcomes) == pytest.approx(starts)


def test_overrun_skips_missed_slots() -> None:
    cadence = Cadence(RULES, start=3.0)
    assert cadence.after(ok=True, retry_after_s=None, now=3.0 + 25.0) == pytest.approx(33.0)


def test_skip_moves_to_next_slot_without_touching_failures() -> None:
    cadence = Cadence(RULES, start=0.0)
    cadence.after(ok=False, retry_after_s=None, now=0.5)
    assert cadence.skip(now=10.1) == pytest.approx(20.0)
    assert cadence.failures == 1
