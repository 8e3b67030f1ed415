"""The aggregator worker: an APScheduler job that evaluates every target at aligned instants.

Runs in a background thread pool (the SQL runs in the engine, off the caller's event loop).
Each run evaluates, in order, every aligned instant since the last one evaluated (at most
`aggregator.backfill` back), so after downtime the missed instants are filled from the
stored points before the current one. While evaluations take longer than the interval, a
backfill could never catch up: the worker then skips the missed instants but the first of
each minute (where the long windows and SLO rows are written) and evaluates the current one,
so its statuses stay as fresh as its pace allows. A failed evaluation is logged with the
store's error and the next run resumes from the last instant written.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator import sql
from aggregator.evaluate import Evaluator, aligned_instant, first_of_minute
from aggregator.store.base import Store, StoreError
from llmhealth_config.model import Config

log = logging.getLogger("llmhealth.aggregator")

# Each run starts this long after its instant, so points stored just before it are in.
SETTLE = 0.25


class Worker:
    """Evaluate `config.targets` every `config.aggregator.interval` seconds."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._evaluator = Evaluator(store, config)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        """Names this worker's rows of health_cycles."""
        self.interval = config.aggregator.interval
        self.last_evaluated: datetime | None = None
        self.last_error: str | None = None
        self.last_duration_ms: float | None = None
        self.behind = False  # the last evaluation took longer than `interval`
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._listeners: list[Callable[[datetime], None]] = []

    def add_listener(self, listener: Callable[[datetime], None]) -> None:
        """Call `listener(instant)` after each instant is evaluated (a backfill's included, in
        order), on the worker's thread: it must be quick (hand work to a thread of its own).
        An exception it raises is logged and changes nothing for the evaluation."""
        self._listeners.append(listener)

    def pending(self, at: datetime) -> list[datetime]:
        """The instants to evaluate up to `at`: those after the last one written (within the
        backfill horizon), or just `at` when there is none. While the worker is behind (its
        last evaluation took longer than the interval), only the first instant of each minute
        among the missed ones, then `at`."""
        horizon = at - timedelta(seconds=self.config.aggregator.backfill)
        last = self.last_evaluated
        if last is None:
            row = self.store.rows(sql.query("last_evaluated"), {"since": horizon})
            found = row[0]["at"] if row else None
            last = _parse(found) if found else None
        if last is None or last < horizon:
            return [at]
        step = timedelta(seconds=self.interval)
        count = int((at - last) / step)
        instants = [last + step * k for k in range(1, count + 1)]
        if not self.behind:
            return instants
        kept = [i for i in instants[:-1] if first_of_minute(i, self.interval)] + instants[-1:]
        if len(kept) < len(instants):
            log.debug("behind: skipping %d missed instants up to %s", len(instants) - len(kept),
                      at.isoformat())
        return kept

    def run_once(self, now: float | None = None) -> datetime:
        """Evaluate every pending instant up to the latest aligned instant at or before `now`
        (missed ones first, in order); return the latest."""
        at = aligned_instant(time.time() if now is None else now, self.interval)
        try:
            instants = self.pending(at)
            if len(instants) > 1:
                log.info("backfilling %d missed instants from %s to %s", len(instants) - 1,
                         instants[0].isoformat(), instants[-2].isoformat())
            for k, instant in enumerate(instants, 1):
                started = time.perf_counter()
                evaluated = self._evaluator.evaluate(instant)
                self.last_duration_ms = (time.perf_counter() - started) * 1000
                self.store.execute(sql.query("record_cycle"), {
                    "at": instant, "instance": self.instance, "targets": evaluated,
                    "duration_ms": self.last_duration_ms, "interval_s": self.interval,
                    "backfill": instant != instants[-1]})
                self.last_evaluated = instant
                self._check_pace(evaluated, self.last_duration_ms)
                self._tell(instant)
                if len(instants) > 20 and k % max(1, len(instants) // 10) == 0:
                    log.info("backfill: %d of %d instants evaluated", k, len(instants))
        except StoreError as exc:
            self.last_error = str(exc)
            log.error("evaluation at %s failed: %s", at.isoformat(), exc)
            raise
        self.last_error = None
        log.debug("evaluated %d targets at %s in %.0f ms", evaluated, at.isoformat(),
                  self.last_duration_ms or 0)
        return at

    def _tell(self, instant: datetime) -> None:
        for listener in self._listeners:
            try:
                listener(instant)
            except Exception:  # a listener's bug must not stop the evaluations
                log.exception("after the evaluation at %s: %r failed", instant.isoformat(), listener)

    def _check_pace(self, targets: int, duration_ms: float) -> None:
        """Warn once when an evaluation takes longer than `interval` (the worker then skips the
        instants it has no time for, see `pending`), and say when it fits again."""
        slow = duration_ms > self.interval * 1000
        if slow and not self.behind:
            log.warning("evaluating %d targets took %.0f ms, longer than aggregator.interval (%g s): "
                        "statuses come at longer intervals (the instants missed meanwhile are "
                        "skipped, but the first of each minute). Raise aggregator.interval, or "
                        "evaluate fewer targets per aggregator (BENCHMARKS.md gives the time per "
                        "evaluation by number of targets)",
                        targets, duration_ms, self.interval)
        elif self.behind and not slow:
            log.info("evaluations fit in aggregator.interval (%g s) again: %d targets in %.0f ms",
                     self.interval, targets, duration_ms)
        self.behind = slow

    def _job(self) -> None:
        try:
            self.run_once()
        except StoreError:
            pass  # logged in run_once; the next run resumes from the last instant written

    def start(self) -> None:
        first = aligned_instant(time.time(), self.interval) + timedelta(seconds=self.interval + SETTLE)
        trigger = IntervalTrigger(seconds=self.interval, start_date=first, timezone=UTC)
        self._scheduler.add_job(self._job, trigger, id="evaluate", max_instances=1, coalesce=True,
                                misfire_grace_time=max(1, int(self.interval)))
        self._scheduler.start()
        log.info("aggregator: evaluating %d targets every %g s (status window %g s, windows %s)",
                 len(self.config.targets), self.interval, self.config.aggregator.window,
                 ", ".join(f"{w:g} s" for w in self.config.aggregator.windows))

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def _parse(value: object) -> datetime:
    """A DateTime64 as the store returns it (datetime from the server, text from chDB)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
