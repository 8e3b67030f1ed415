"""The notifier: tells receivers about the status changes each evaluation stored.

Threads: the worker calls `on_evaluated(instant)` after each instant (register it with
`Worker.add_listener`); that only records the instant and wakes the planning thread, so the
evaluation never waits. The planning thread (`llmhealth-notify-plan`) processes each group
window once its last instant has been evaluated: it reads the window's changes and the open
alerts from the store, decides what is due (plan.py), claims it in health_notifications
(ledger.py) and queues the messages it won on each receiver's delivery thread (delivery.py).
A store error leaves the window to be planned again a moment later.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from aggregator.evaluate import state_lookback
from aggregator.notify.alerts import Notification
from aggregator.notify.compose import Message, messages
from aggregator.notify.delivery import Delivery
from aggregator.notify.endpoints import endpoint, guard_http_logs
from aggregator.notify.ledger import Ledger
from aggregator.notify.maintenance import Maintenance
from aggregator.notify.plan import Bucket, Grouping, Planner, decide
from aggregator.notify.routes import Router
from aggregator.store.base import Store, StoreError
from llmhealth_config.model import Config

log = logging.getLogger("llmhealth.notify")
QUEUED_MEMORY = 100_000
"""Ids of notifications queued that the notifier remembers (about 10 MB)."""
RETRY_S = 2.0
"""How long the planning thread waits after a store error before planning the window again."""


class Notifier:
    """Notifications for `config.notifications` from the evaluations stored in `store`.

    Raises NotifierSetupError when a receiver's variable is unset or unusable. With no
    receivers configured, it does nothing (and starts no thread)."""

    def __init__(self, store: Store, config: Config, environ: Mapping[str, str] = os.environ,
                 instance: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        settings = config.notifications
        self.settings = settings
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        endpoints = [endpoint(r, i, environ) for i, r in enumerate(settings.receivers)]
        guard_http_logs(tuple(s for e in endpoints for s in e.secrets))
        self.ledger = Ledger(store, self.instance, state_lookback(config))
        self.deliveries = {e.name: Delivery(e, settings.delivery, self.ledger, clock)
                           for e in endpoints}
        self._planner = Planner(Router(settings), {e.name: e.type for e in endpoints},
                                settings.repeat_interval)
        self._maintenance = Maintenance(settings.maintenance)
        self._grouping = Grouping(settings.group_window, config.aggregator.interval)
        self._clock = clock
        self._cond = threading.Condition()
        self._first: datetime | None = None  # the first instant heard: planning starts there
        self._heard: datetime | None = None
        self._done: datetime | None = None
        self._next: Bucket | None = None
        self._deferred: dict[str, tuple[Notification, float]] = {}
        self._queued: OrderedDict[str, None] = OrderedDict()  # ids queued, newest last
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="llmhealth-notify-plan", daemon=True)
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.deliveries)

    def on_evaluated(self, instant: datetime) -> None:
        """The worker evaluated `instant` (instants come in order): plan what it closed."""
        if not self.enabled:
            return
        with self._cond:
            if self._heard is None or instant > self._heard:
                self._first = self._first or instant
                self._heard = instant
                self._cond.notify()

    def start(self) -> None:
        if not self.enabled:
            return
        for delivery in self.deliveries.values():
            delivery.start()
        self._thread.start()
        log.info("notifier: %d receivers (%s), group window %g s, instance %s",
                 len(self.deliveries), ", ".join(f"{r.name} ({r.type})"
                                                 for r in self.settings.receivers),
                 self.settings.group_window, self.instance)

    def stop(self) -> None:
        """Stop planning, then each delivery after its request in flight (what is still queued
        is recorded as dropped)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(self.settings.claim_settle + 30)
        for delivery in self.deliveries.values():
            delivery.stop(self.settings.delivery.timeout + 5)

    @property
    def idle(self) -> bool:
        """Every instant heard is planned and every receiver's queue is empty."""
        with self._cond:
            caught_up = self._done == self._heard
        return caught_up and all(d.idle for d in self.deliveries.values())

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop.is_set() and (self._heard is None or self._heard == self._done):
                    self._cond.wait()
                if self._stop.is_set():
                    return
                heard = self._heard
            try:
                self._advance(heard)
            except StoreError as exc:
                self.last_error = str(exc)
                log.error("notifier: planning the window from %s failed (again in %g s): %s",
                          self._next.start.isoformat() if self._next else "?", RETRY_S, exc)
                if self._stop.wait(RETRY_S):
                    return
                continue
            except Exception:  # a bug must not end the notifications for good
                log.exception("notifier: planning failed (again in %g s)", RETRY_S)
                if self._stop.wait(RETRY_S):
                    return
                continue
            self.last_error = None
            with self._cond:
                self._done = heard

    def _advance(self, heard: datetime) -> None:
        """Plan every window whose last instant is at or before `heard`, in order."""
        if self._next is None:  # from the window before the first instant heard: a change
            with self._cond:       # stored just before a restart is planned after it
                first = self._first or heard
            self._next = self._grouping.of(first - timedelta(seconds=self.settings.group_window))
        while self._next.last <= heard and not self._stop.is_set():
            if not self._next.empty:
                self.plan(self._next)
            self._next = self._grouping.after(self._next)

    def plan(self, bucket: Bucket) -> list[Message]:
        """Decide, claim and queue the notifications of `bucket`; return the messages queued."""
        ledger, settings = self.ledger, self.settings
        found = self._planner.candidates(bucket, ledger.changes(bucket), ledger.open_alerts(bucket.last))
        ids = {n.id for n in found}
        candidates = sorted(found + [n for n, _ in self._deferred.values() if n.id not in ids],
                            key=Notification.sort_key)
        if not candidates:
            return []
        claims = ledger.claims([n.id for n in candidates] +
                               [n.trigger_id for n in candidates if n.action != "trigger"])
        times = ledger.trigger_times(candidates, settings.min_repeat_interval)
        waited = settings.delivery.give_up_after
        overdue = frozenset(i for i, (_, since) in self._deferred.items()
                            if self._clock() - since > waited)
        decision = decide(candidates, claims, times, self._maintenance,
                          settings.min_repeat_interval, self.instance, overdue)
        # won by this notifier in an earlier try whose planning failed before they were queued
        orphans = [n for n in candidates if n.id in claims and n.id not in self._queued
                   and claims[n.id].winner == self.instance and not claims[n.id].done]
        for n, why in decision.skipped:
            log.debug("notifier: not sending %s of %s %s to %s: %s", n.action, n.alert.target,
                      n.alert.rule, n.receiver, why)
        self._deferred = {n.id: (n, self._deferred.get(n.id, (n, self._clock()))[1])
                          for n in decision.deferred}
        won = ledger.claim(decision.send, settings.claim_settle, self._stop)
        if won is None or not won + orphans:
            return []
        queued = messages(won + orphans, bucket)
        for message in queued:
            self.deliveries[message.receiver].submit(message)
            for n in message.notifications:
                self._queued[n.id] = None
        while len(self._queued) > QUEUED_MEMORY:
            self._queued.popitem(last=False)
        return queued
