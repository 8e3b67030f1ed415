"""What to say for one group window: from the status changes and open alerts the evaluation
stored, the notifications due, per receiver (pure functions; ledger.py reads their input).

Changes are grouped by fixed windows of `notifications.group_window` seconds aligned to the
epoch, so every aggregator forms the same groups. For a window:

1. `candidates`: each change that leaves an alerting status is a resolve of that alert; each
   that enters one is a trigger; each alert open at the window's last instant is a trigger too
   (the same id: it is sent once, and a trigger held back earlier goes out now), and a
   reminder when `repeat_interval` × k after its start falls in the window. Every one is
   addressed to the receivers its routes name.
2. `decide`: drops what was claimed already, triggers a maintenance window silences or
   `min_repeat_interval` holds back, reminders and resolves of alerts never triggered to that
   receiver, and defers the resolves of alerts another aggregator is still delivering, so
   that no receiver hears a resolve before its trigger.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aggregator.notify.alerts import Alert, Notification
from aggregator.notify.maintenance import Maintenance
from aggregator.notify.routes import Router
from llmhealth_config.notifications import STATUS_SEVERITY


@dataclass(frozen=True)
class Bucket:
    """The group window [start, end); `last` is its last evaluation instant."""

    start: datetime
    end: datetime
    last: datetime

    @property
    def empty(self) -> bool:
        """No evaluation instant falls in it (a window shorter than the interval)."""
        return self.last < self.start


class Grouping:
    """Group windows of `window_s` seconds aligned to the epoch, over evaluation instants
    that are multiples of `interval_s` (in whole milliseconds, so no float drift)."""

    def __init__(self, window_s: float, interval_s: float) -> None:
        self._window = max(1, round(window_s * 1000))
        self._interval = max(1, round(interval_s * 1000))

    def _bucket(self, start_ms: int) -> Bucket:
        end_ms = start_ms + self._window
        return Bucket(_at(start_ms), _at(end_ms), _at((end_ms - 1) // self._interval * self._interval))

    def of(self, instant: datetime) -> Bucket:
        """The window that holds `instant`."""
        return self._bucket(_ms(instant) // self._window * self._window)

    def after(self, bucket: Bucket) -> Bucket:
        return self._bucket(_ms(bucket.end))


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Change:
    """A status change of a target or pool (a health_events row), with when the status it
    left had begun (`since`, None when unknown) and that status's reason."""

    target: str
    at: datetime
    from_state: str
    to_state: str
    reason: str
    target_kind: str
    pool: str
    since: datetime | None
    since_reason: str


@dataclass(frozen=True)
class Claim:
    """Who claimed a notification first, and whether its delivery has ended (sent, given up
    or dropped) by then."""

    winner: str
    done: bool


class Planner:
    """The candidates of a window for the configured routes, receivers and reminders."""

    def __init__(self, router: Router, receiver_types: Mapping[str, str],
                 repeat_interval_s: float | None) -> None:
        self._router = router
        self._types = receiver_types
        self._repeat = repeat_interval_s

    def _for_receivers(self, alert: Alert, **fields) -> Iterable[Notification]:
        for receiver in self._router.receivers_for(alert):
            yield Notification(receiver=receiver, receiver_type=self._types[receiver], alert=alert,
                               **fields)

    def candidates(self, bucket: Bucket, changes: Sequence[Change],
                   open_alerts: Sequence[Alert]) -> list[Notification]:
        found: dict[str, Notification] = {}

        def add(items: Iterable[Notification]) -> None:
            for n in items:
                found.setdefault(n.id, n)

        for c in changes:
            if c.from_state in STATUS_SEVERITY and c.since is not None:
                alert = Alert(c.target, c.target_kind, c.pool, c.from_state, c.since, c.since_reason)
                add(self._for_receivers(alert, action="resolve", event_at=c.at, status=c.to_state,
                                        previous=c.from_state, reason=c.reason))
            if c.to_state in STATUS_SEVERITY:
                alert = Alert(c.target, c.target_kind, c.pool, c.to_state, c.at, c.reason)
                add(self._for_receivers(alert, action="trigger", event_at=c.at, status=c.to_state,
                                        previous=c.from_state, reason=c.reason))
        for alert in open_alerts:
            event_at = alert.started_at if alert.started_at >= bucket.start else bucket.last
            add(self._for_receivers(alert, action="trigger", event_at=event_at, status=alert.rule,
                                    previous="", reason=alert.reason))
            for k, due in self._reminders(alert, bucket):
                add(n for n in self._for_receivers(alert, action="reminder", event_at=due,
                                                   status=alert.rule, previous=alert.rule,
                                                   reason=alert.reason, reminder=k)
                    if n.receiver_type != "pagerduty")  # PagerDuty escalates by itself
        return sorted(found.values(), key=Notification.sort_key)

    def _reminders(self, alert: Alert, bucket: Bucket) -> list[tuple[int, datetime]]:
        """(k, due) of the reminders due in `bucket`: `repeat_interval` × k after the start."""
        if not self._repeat:
            return []
        step = timedelta(seconds=self._repeat)
        first = max(1, math.ceil((bucket.start - alert.started_at) / step))
        due = []
        k = first
        while alert.started_at + k * step < bucket.end:
            due.append((k, alert.started_at + k * step))
            k += 1
        return due


@dataclass(frozen=True)
class Decision:
    send: list[Notification]
    deferred: list[Notification]
    """Resolves whose trigger another aggregator is still delivering: proposed again later."""
    skipped: list[tuple[Notification, str]]
    """What is not sent, and why (for the log)."""


def decide(candidates: Sequence[Notification], claims: Mapping[str, Claim],
           triggers: Mapping[tuple[str, str, str], Sequence[datetime]], maintenance: Maintenance,
           min_repeat_s: float | None, me: str, overdue: frozenset[str] = frozenset()) -> Decision:
    """The candidates to claim now. `claims`: the claims found for the candidates and the
    triggers they depend on; `triggers`: when earlier triggers of each (receiver, target,
    rule) were claimed; `overdue`: deferred resolves that have waited long enough."""
    send: list[Notification] = []
    deferred: list[Notification] = []
    skipped: list[tuple[Notification, str]] = []
    fresh: set[str] = set()
    recent = {key: list(times) for key, times in triggers.items()}
    for n in candidates:
        if n.id in claims:
            continue
        if n.action == "trigger":
            why = _held(n, maintenance, recent, min_repeat_s)
            if why:
                skipped.append((n, why))
                continue
            fresh.add(n.id)
            recent.setdefault(n.hold_key, []).append(n.event_at)
            send.append(n)
            continue
        trigger = claims.get(n.trigger_id)
        if trigger is None and n.trigger_id not in fresh:
            skipped.append((n, "its trigger was not sent to this receiver"))
            continue
        if n.action == "reminder":
            window = maintenance.silencing(n.alert, n.event_at)
            if window is not None:
                skipped.append((n, f"maintenance window {window.name or '(unnamed)'}"))
            else:
                send.append(n)
            continue
        if trigger is not None and trigger.winner != me and not trigger.done and n.id not in overdue:
            deferred.append(n)
            continue
        send.append(n)
    return Decision(send, deferred, skipped)


def _held(n: Notification, maintenance: Maintenance,
          recent: Mapping[tuple[str, str, str], Sequence[datetime]],
          min_repeat_s: float | None) -> str | None:
    window = maintenance.silencing(n.alert, n.event_at)
    if window is not None:
        return f"maintenance window {window.name or '(unnamed)'}"
    if min_repeat_s:
        earlier = [t for t in recent.get(n.hold_key, ()) if t < n.event_at]
        if earlier and (n.event_at - max(earlier)).total_seconds() < min_repeat_s:
            return (f"triggered {(n.event_at - max(earlier)).total_seconds():g} s before "
                    f"(min_repeat_interval {min_repeat_s:g} s)")
    return None
