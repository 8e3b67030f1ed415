"""Cadence: when a (target, kind) pair is probed next, rule by rule, on a virtual clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prober.cadence import Cadence, CadenceRules

RULES = CadenceRules(interval=10.0, confirm_delay=2.0, confirm_failures=3, backoff_after=4,
                     backoff_max=60.0, retry_after_max=300.0)
DURATION = 0.5  # every probe in these scenarios takes half a second


def run(outcomes: list[tuple[bool, float | None]], rules: CadenceRules = RULES,
        duration: float = DURATION) -> list[float]:
    """Planned start times of each probe, starting at t=0, for a sequence of (ok, retry_after)."""
    cadence = Cadence(rules, start=0.0)
    starts = [cadence.planned]
    for ok, retry_after in outcomes:
        starts.append(cadence.after(ok=ok, retry_after_s=retry_after, now=cadence.planned + duration))
    return starts


OK, FAIL = (True, None), (False, None)


@pytest.mark.parametrize(("outcomes", "starts"), [
    pytest.param([OK, OK, OK], [0, 10, 20, 30], id="steady-slots"),
    pytest.param([FAIL, FAIL, FAIL, FAIL], [0, 2.5, 5, 10, 30],
                 id="failures-confirmed-until-confirm-failures-then-backoff"),
    pytest.param([OK, FAIL, FAIL, FAIL, OK, OK], [0, 10, 12.5, 15, 20, 22.5, 30],
                 id="outage-confirmed-then-recovery-confirmed"),
    pytest.param([OK, FAIL, OK, OK], [0, 10, 12.5, 20, 30], id="blip-cleared-by-confirmation"),
    pytest.param([OK, FAIL, FAIL, OK, OK], [0, 10, 12.5, 15, 20, 30],
                 id="short-run-cleared-by-confirmation"),
    pytest.param([FAIL, OK, FAIL, OK, FAIL], [0, 2.5, 10, 12.5, 20, 22.5],
                 id="alternating-costs-one-extra-probe-per-failure"),
    pytest.param([OK, FAIL, FAIL, FAIL, OK, FAIL, FAIL], [0, 10, 12.5, 15, 20, 22.5, 25, 27.5],
                 id="failure-after-recovery-confirmed-again"),
    pytest.param([FAIL] * 8, [0, 2.5, 5, 10, 30, 70, 130, 190, 250], id="backoff-doubles-up-to-max"),
    pytest.param([FAIL] * 5 + [OK, OK], [0, 2.5, 5, 10, 30, 70, 72.5, 80],
                 id="backoff-ends-on-success"),
    pytest.param([OK, (False, 45.0), OK], [0, 10, 55.5, 58.0], id="retry-after-overrides-confirm"),
    pytest.param([FAIL, (False, 1000.0)], [0, 2.5, 303.0], id="retry-after-capped"),
    pytest.param([(True, 45.0), OK], [0, 10, 20], id="retry-after-ignored-on-success"),
])
def test_planned_starts(outcomes: list[tuple[bool, float | None]], starts: list[float]) -> None:
    assert run(outcomes) == pytest.approx(starts)


@pytest.mark.parametrize(("outcomes", "starts"), [
    pytest.param([OK, FAIL, FAIL, OK, OK], [0, 10, 20, 30, 32.5, 40],
                 id="failures-on-slots-recovery-confirmed"),
    pytest.param([FAIL, OK, FAIL], [0, 10, 12.5, 20], id="first-failure-on-slots"),
])
def test_one_failure_opens_the_breaker(outcomes: list[tuple[bool, float | None]],
                                       starts: list[float]) -> None:
    assert run(outcomes, replace(RULES, confirm_failures=1)) == pytest.approx(starts)


@pytest.mark.parametrize("confirm_failures", [1, 2, 3, 5])
def test_breaker_failures_seen_within_confirm_delays(confirm_failures: int) -> None:
    rules = replace(RULES, confirm_failures=confirm_failures, backoff_after=10)
    starts = run([OK] + [FAIL] * confirm_failures, rules, duration=0.0)
    failed_starts = starts[1:-1]
    assert failed_starts[-1] - failed_starts[0] == pytest.approx((confirm_failures - 1) * 2.0)


def test_overrun_skips_missed_slots() -> None:
    cadence = Cadence(RULES, start=3.0)
    assert cadence.after(ok=True, retry_after_s=None, now=3.0 + 25.0) == pytest.approx(33.0)


def test_skip_moves_to_next_slot_without_touching_failures() -> None:
    cadence = Cadence(RULES, start=0.0)
    cadence.after(ok=False, retry_after_s=None, now=0.5)
    assert cadence.skip(now=10.1) == pytest.approx(20.0)
    assert cadence.failures == 1


@pytest.mark.parametrize(("outcomes", "starts"), [
    pytest.param([FAIL] * 8, [0, 2.5, 5, 10, 20, 30, 40, 50, 60], id="tokenless-keeps-slots"),
    pytest.param([FAIL] * 5 + [OK, OK], [0, 2.5, 5, 10, 20, 30, 32.5, 40],
                 id="tokenless-recovery-confirmed"),
    pytest.param([OK, (False, 45.0), OK], [0, 10, 55.5, 58.0], id="tokenless-retry-after-holds"),
])
def test_tokenless_kinds_never_back_off(outcomes: list[tuple[bool, float | None]],
                                        starts: list[float]) -> None:
    assert run(outcomes, replace(RULES, backoff=False)) == pytest.approx(starts)


def test_backed_off_from_backoff_after_on() -> None:
    cadence = Cadence(RULES, start=0.0)
    seen = []
    for _ in range(5):
        cadence.after(ok=False, retry_after_s=None, now=cadence.planned + DURATION)
        seen.append(cadence.backed_off)
    cadence.after(ok=True, retry_after_s=None, now=cadence.planned + DURATION)
    assert seen + [cadence.backed_off] == [False, False, False, True, True, False]
    tokenless = Cadence(replace(RULES, backoff=False), start=0.0)
    for _ in range(5):
        tokenless.after(ok=False, retry_after_s=None, now=tokenless.planned + DURATION)
    assert not tokenless.backed_off


@pytest.mark.parametrize(("wake_at", "starts"), [
    # backed off: failures at 0, 2.5, 5, 10 (4th), next planned at 30; woken at 17
    pytest.param(17.0, [0, 2.5, 5, 10, 17, 19.5, 30], id="woken-probe-ok-recovery-confirmed"),
    pytest.param(31.0, [0, 2.5, 5, 10, 30, 32.5, 40], id="wake-after-the-planned-probe-is-moot"),
])
def test_wake_moves_the_next_probe_forward(wake_at: float, starts: list[float]) -> None:
    cadence = Cadence(RULES, start=0.0)
    planned = [cadence.planned]
    for _ in range(4):
        planned.append(cadence.after(ok=False, retry_after_s=None, now=cadence.planned + DURATION))
    if wake_at < cadence.planned:
        planned[-1] = cadence.wake(wake_at)
    for _ in range(2):
        planned.append(cadence.after(ok=True, retry_after_s=None, now=cadence.planned + DURATION))
    assert planned == pytest.approx(starts)


def test_woken_probe_that_fails_resumes_the_backoff() -> None:
    cadence = Cadence(RULES, start=0.0)
    for _ in range(4):
        cadence.after(ok=False, retry_after_s=None, now=cadence.planned + DURATION)
    assert cadence.wake(17.0) == 17.0
    # 5th failure: the gap doubles again from the woken probe (40 s), to the slot at or after
    assert cadence.after(ok=False, retry_after_s=None, now=17.5) == pytest.approx(60.0)


def test_failures_that_cost_nothing_keep_the_slots() -> None:
    cadence = Cadence(RULES, start=0.0)
    starts = [cadence.planned]
    for _ in range(8):
        starts.append(cadence.after(ok=False, retry_after_s=None, now=cadence.planned + DURATION,
                                    free=True))
    assert starts == pytest.approx([0, 2.5, 5, 10, 20, 30, 40, 50, 60])
    assert not cadence.backed_off
    # the first failure that may have cost tokens backs off as far as the run of failures says
    assert cadence.after(ok=False, retry_after_s=None, now=60.5) == pytest.approx(120)
    assert cadence.backed_off


def test_a_refused_probe_is_neither_failure_nor_success() -> None:
    cadence = Cadence(RULES, start=0.0)
    cadence.after(ok=False, retry_after_s=None, now=0.5)
    assert cadence.refused(now=3.0) == pytest.approx(10)
    assert cadence.failures == 1
    # no confirmation probe for the refusal, and the run of failures goes on from where it was
    assert cadence.after(ok=False, retry_after_s=None, now=10.5) == pytest.approx(12.5)
    assert cadence.failures == 2


def test_a_failure_that_took_the_confirm_delay_is_confirmed_at_once() -> None:
    """A hang cut at its bound (here 2.5 s, over the 2 s confirm_delay) is re-probed at once;
    a fast failure waits the confirm_delay."""
    cadence = Cadence(RULES, start=0.0)
    assert cadence.after(ok=False, retry_after_s=None, now=2.5) == pytest.approx(2.5)
    assert cadence.after(ok=False, retry_after_s=None, now=3.0) == pytest.approx(5.0)


DOUBT = replace(RULES, doubt_probes=120, doubt_successes=3)


@pytest.mark.parametrize(("outcomes", "rules", "starts"), [
    pytest.param([OK, FAIL, OK, OK, OK, OK], DOUBT, [0, 10, 12.5, 15, 17.5, 20, 30],
                 id="successes-after-a-failure-come-confirm-delay-apart-until-doubt-ends"),
    pytest.param([OK, FAIL, OK, FAIL, OK, OK, OK, OK], DOUBT,
                 [0, 10, 12.5, 15, 17.5, 20, 22.5, 30, 40],
                 id="a-failure-in-doubt-starts-the-count-of-successes-again"),
    pytest.param([OK, FAIL, OK, OK, OK, OK], replace(DOUBT, doubt_probes=1, doubt_successes=10),
                 [0, 10, 12.5, 15, 20, 30, 40], id="the-allowance-bounds-the-extra-probes"),
    pytest.param([OK, FAIL, FAIL, FAIL, FAIL], DOUBT, [0, 10, 12.5, 15, 20, 40],
                 id="a-run-that-opens-the-breaker-keeps-slots-and-backoff"),
    pytest.param([OK, FAIL, OK, OK, OK], replace(DOUBT, doubt_probes=0), [0, 10, 12.5, 20, 30, 40],
                 id="off"),
])
def test_doubt(outcomes: list[tuple[bool, float | None]], rules: CadenceRules,
               starts: list[float]) -> None:
    assert run(outcomes, rules) == pytest.approx(starts)


def test_the_doubt_allowance_refills_at_its_hourly_rate() -> None:
    cadence = Cadence(replace(DOUBT, doubt_probes=2, doubt_successes=100), start=0.0)
    cadence.after(ok=False, retry_after_s=None, now=0.5)
    for _ in range(2):  # the confirmation, then the whole allowance
        cadence.after(ok=True, retry_after_s=None, now=cadence.planned + DURATION)
    assert cadence.after(ok=True, retry_after_s=None, now=cadence.planned + DURATION) == 10.0
    assert cadence.doubt_left < 1.0
    # half an hour later one probe's worth is back, and spent on the next success in doubt
    assert cadence.after(ok=True, retry_after_s=None, now=1800.5 + 10.0) == pytest.approx(1812.5)
    assert cadence.doubt_left < 1.0
