"""What the prober logs about probe results: changes, not every probe.

Per (target, kind), a line at WARNING when it starts failing (its first failure, or a
failure of another error type than the one before), and one at INFO when it recovers, with
how many failed probes there were, of which types, over how long and how many repeats were
not logged. Every other result (a success after a success, the same failure again) is one
line at DEBUG, which `llmhealth run` writes to its log file only. So a target that stays down
costs one line, not one per probe, and a flapping one a line per flap.

Lines keep the `target=… kind=… outcome=…` form of the per-probe detail, so one search finds
both the transition and the probes around it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from prober.outcome import OK, ProbeResult


@dataclass
class _Outage:
    """A run of failed probes of one (target, kind), from its first failure."""

    since: float
    last: str
    by_type: Counter[str] = field(default_factory=Counter)
    logged: int = 0

    @property
    def failures(self) -> int:
        return sum(self.by_type.values())

    def summary(self) -> str:
        return ", ".join(f"{kind} x{n}" for kind, n in self.by_type.most_common())


class OutcomeLog:
    """Logs results to `logger` as the module describes. `record` takes the result and the
    time it ended (any monotonic clock, seconds); `forget` drops a target that is no longer
    probed. `label` replaces `target=… kind=…` at the head of a line (discovery rounds)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._outages: dict[tuple[str, str], _Outage] = {}

    def record(self, result: ProbeResult, now: float, *, label: str | None = None) -> None:
        key = (result.target, result.kind)
        head = label or f"target={result.target} kind={result.kind}"
        outage = self._outages.get(key)
        if result.outcome == OK:
            if outage is None:
                self._log.debug("%s outcome=ok in %.3f s", head, result.duration_s)
                return
            del self._outages[key]
            failures, quiet = outage.failures, outage.failures - outage.logged
            self._log.info("%s outcome=ok: recovered after %d failed probe%s over %.0f s (%s%s)",
                           head, failures, "" if failures == 1 else "s", now - outage.since,
                           outage.summary(), f"; {quiet} repeats not logged" if quiet else "")
            return
        detail = f"{head} outcome={result.outcome} detail={result.detail}"
        if outage is None:
            outage = self._outages[key] = _Outage(since=now, last=result.outcome)
            self._log.warning("%s (started failing)", detail)
            outage.logged += 1
        elif result.outcome != outage.last:
            self._log.warning("%s (failing differently, after %s over %.0f s)", detail,
                              outage.summary(), now - outage.since)
            outage.logged += 1
        else:
            self._log.debug("%s (failure %d in a row)", detail, outage.failures + 1)
        outage.last = result.outcome
        outage.by_type[result.outcome] += 1

    def forget(self, target: str) -> None:
        for key in [key for key in self._outages if key[0] == target]:
            del self._outages[key]
