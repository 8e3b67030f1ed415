"""When a (target, kind) pair is probed next: fixed slots, confirmation, backoff, retry-after.

Pure arithmetic on a monotonic clock, so every rule is unit-testable without sleeping:

* **Slots**: probes start at `start + k * interval`; a probe that overruns its slot makes the
  next start the first slot still ahead (missed slots are skipped, never run late or in a
  burst).
* **Failure confirmation**: after a failed probe, the next one runs `confirm_delay` seconds
  later (at once when the failed probe took `confirm_delay` or longer from its planned start:
  a hang cut at its bound has waited enough) while the run of consecutive failures is
  shorter than `confirm_failures` (the aggregator's `breaker.failures`): the failures that
  open the circuit breaker are all seen within `(confirm_failures - 1) * confirm_delay` of
  the first, plus probe durations. The run then continues on the slots (and backoff).
* **Recovery confirmation**: after a success that ends a run of failures, one extra probe
  runs `confirm_delay` seconds later (as above), so the successes that close the breaker
  come within seconds too. A success on a confirmation probe gets none (its run of failures
  was shorter than `confirm_failures`), so without doubt (below) a target that alternates
  costs at most one extra probe per failure.
* **Doubt**: after a failure, a kind is in doubt until `doubt_successes` probes in a row have
  succeeded; while in doubt, a success is followed by another probe `confirm_delay` later
  instead of on the next slot, drawn from an allowance of `doubt_probes` extra probes per
  hour (refilled evenly, never above `doubt_probes`). So a model failing at random is
  measured several times faster while its error rate is in question, and a model that stays
  healthy pays for its rare failures only: a few dozen probes each, at most `doubt_probes`
  an hour. A run of failures long enough to open the breaker is confirmation, not doubt:
  it stays on the slots and the backoff.
* **Backoff**: from the `backoff_after`-th consecutive failure on, the gap doubles per
  further failure up to `backoff_max` (never below `interval`): a target that stays down is
  probed less often but at least every `backoff_max` seconds. Only kinds that spend tokens
  back off (`backoff`); a tokenless kind keeps its slots, as the target's free probe. And
  only failures that may have cost something count: a failure the caller marks `free` (an
  error status answered before any generation, a connection that never opened) keeps the
  slots, so a model whose chat route answers 500 is seen back within an interval at no
  token cost.
* **Refusals**: a probe the model refused (`refused`, the request itself is wrong) is
  neither a failure nor a success of the target: the next probe runs on the next slot and
  the run of failures is left as it was.
* **Wake**: when the target's free probe sees it come back (`prober.recovery`), the next
  probe moves to that instant; the backoff resumes if it fails again.
* **Retry-After**: a 429 with `retry-after` moves the next probe to at least that far ahead,
  capped at `retry_after_max`; no confirmation probe runs earlier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CadenceRules:
    interval: float
    confirm_delay: float
    confirm_failures: int
    backoff_after: int
    backoff_max: float
    retry_after_max: float
    backoff: bool = True
    doubt_probes: int = 0
    doubt_successes: int = 30


class Cadence:
    """The schedule of one (target, kind) pair; `start` is the first slot (jitter included)."""

    def __init__(self, rules: CadenceRules, start: float) -> None:
        self.rules = rules
        self.start = start
        self.planned = start
        self.failures = 0
        self.successes = 0
        self.doubt_left = float(rules.doubt_probes)
        self._doubt = False
        self._confirming = False
        self._backing_off = False
        self._refilled_at = start

    def after(self, *, ok: bool, retry_after_s: float | None, now: float,
              free: bool = False) -> float:
        """Record the outcome of the probe planned for `self.planned` and finished at `now`;
        return (and remember) when the next probe is planned. `free`: a failure that cost
        nothing (it never backs off)."""
        rules = self.rules
        recovered = ok and self.failures > 0
        self.failures = 0 if ok else self.failures + 1
        self.successes = self.successes + 1 if ok else 0
        self._doubt = (self._doubt or not ok) and self.successes < rules.doubt_successes
        self._refill(now)
        honour_retry_after = retry_after_s is not None and not ok
        was_confirming, self._confirming = self._confirming, False
        self._backing_off = rules.backoff and not free and self.failures >= rules.backoff_after
        if not honour_retry_after and (
            (not ok and self.failures < rules.confirm_failures)
            or (recovered and not was_confirming)
        ):
            self._confirming = True
            # a probe that took confirm_delay or longer (a hang cut at its bound) waited enough
            slow = now - self.planned >= rules.confirm_delay
            self.planned = now if slow else now + rules.confirm_delay
            return self.planned
        if ok and self._doubt and self.doubt_left >= 1.0:
            self.doubt_left -= 1.0
            self.planned = now + rules.confirm_delay
            return self.planned
        planned = self._slot_after(now)
        if self._backing_off:
            doublings = self.failures - rules.backoff_after + 1
            gap = min(rules.interval * 2.0**doublings, max(rules.backoff_max, rules.interval))
            planned = max(planned, self._slot_at_or_after(self.planned + gap))
        if honour_retry_after:
            planned = max(planned, now + min(retry_after_s, rules.retry_after_max))
        self.planned = planned
        return planned

    def refused(self, now: float) -> float:
        """Record a probe the model refused: plan the next slot, keep the run of failures."""
        self._confirming = False
        self._backing_off = False
        self.planned = self._slot_after(now)
        return self.planned

    def wake(self, now: float) -> float:
        """Plan the next probe for `now` if it was planned later."""
        self.planned = min(self.planned, now)
        return self.planned

    def _refill(self, now: float) -> None:
        """Add the doubt allowance earned since the last refill (`doubt_probes` an hour)."""
        per_second = self.rules.doubt_probes / 3600.0
        self.doubt_left = min(float(self.rules.doubt_probes),
                              self.doubt_left + max(0.0, now - self._refilled_at) * per_second)
        self._refilled_at = max(self._refilled_at, now)

    @property
    def backed_off(self) -> bool:
        """Whether the next probe waits out a backoff (the run of costly failures reached it)."""
        return self._backing_off

    def skip(self, now: float) -> float:
        """Plan the next slot after `now` without a probe result (a paused probe)."""
        self.planned = self._slot_after(now)
        return self.planned

    def _slot_after(self, t: float) -> float:
        """The first slot strictly after `t`."""
        k = math.floor((t - self.start) / self.rules.interval) + 1
        return self.start + max(k, 0) * self.rules.interval

    def _slot_at_or_after(self, t: float) -> float:
        """The first slot at or after `t` (within a microsecond)."""
        k = math.ceil((t - self.start) / self.rules.interval - 1e-6)
        return self.start + max(k, 0) * self.rules.interval
