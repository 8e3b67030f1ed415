"""The aggregator worker: an APScheduler job that evaluates every target at aligned instants.

Runs in a background thread pool (the SQL runs in the engine, off the caller's event loop).
A failed evaluation is logged with the store's error and retried at the next instant.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.evaluate import aligned_instant, evaluate
from aggregator.store.base import Store, StoreError
from llmhealth.config.model import Config

log = logging.getLogger("llmhealth.aggregator")


class Worker:
    """Evaluate `config.targets` every `config.aggregator.interval` seconds."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.interval = config.aggregator.interval
        self.last_evaluated: datetime | None = None
        self.last_error: str | None = None
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def run_once(self, now: float | None = None) -> datetime:
        """Evaluate the latest aligned instant at or before `now`; return it."""
        at = aligned_instant(time.time() if now is None else now, self.interval)
        started = time.perf_counter()
        try:
            evaluate(self.store, self.config, at)
        except StoreError as exc:
            self.last_error = str(exc)
            log.error("evaluation at %s failed: %s", at.isoformat(), exc)
            raise
        self.last_error = None
        self.last_evaluated = at
        log.debug("evaluated %d targets at %s in %.0f ms", len(self.config.targets),
                  at.isoformat(), (time.perf_counter() - started) * 1000)
        return at

    def _job(self) -> None:
        try:
            self.run_once()
        except StoreError:
            pass  # logged in run_once; the next instant retries

    def start(self) -> None:
        first = aligned_instant(time.time(), self.interval) + timedelta(seconds=self.interval)
        trigger = IntervalTrigger(seconds=self.interval, start_date=first, timezone=UTC)
        self._scheduler.add_job(self._job, trigger, id="evaluate", max_instances=1, coalesce=True,
                                misfire_grace_time=max(1, int(self.interval)))
        self._scheduler.start()
        log.info("aggregator: evaluating %d targets every %.0f s over a %.0f s window",
                 len(self.config.targets), self.interval, self.config.aggregator.window)

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
