"""What the notifier reports: alerts and the notifications about them.

An alert is one problem of one target (or pool): a status other than `healthy` (its rule),
from the instant the target entered it (health_events) until the instant it left it. A
notification is one thing said about an alert to one receiver: its trigger, a reminder while it
lasts, its resolve. Its id is derived from receiver, target, rule, start and action only, so
every aggregator that reads the same events computes the same id (the store then decides which
of them sends it: ledger.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from llmhealth_config.notifications import STATUS_SEVERITY

ACTION_ORDER = {"resolve": 0, "trigger": 1, "reminder": 2}
"""At one instant a target leaves one status (resolve) before it enters the next (trigger)."""

DEDUP_PREFIX = "llmhealth"


def parse_time(value: object) -> datetime:
    """A DateTime64 as the store returns it (datetime from a server, text from chDB), in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def stamp(at: datetime) -> str:
    """`at` as the store's DateTime64(3) text (UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def iso(at: datetime | None) -> str | None:
    """`at` as ISO 8601 with milliseconds and `Z`, as messages show times."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def digest(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Alert:
    """A target (`target_kind` `target`) or pool (`pool`) in status `rule` since `started_at`,
    for `reason`."""

    target: str
    target_kind: str
    pool: str
    rule: str
    started_at: datetime
    reason: str

    @property
    def severity(self) -> str:
        return STATUS_SEVERITY[self.rule]

    @property
    def dedup_key(self) -> str:
        """The same for every alert of this target and rule: PagerDuty's incident key (at most
        255 characters, so a long target name is hashed)."""
        key = f"{DEDUP_PREFIX}/{self.target}/{self.rule}"
        return key if len(key) <= 255 else f"{DEDUP_PREFIX}/{digest(self.target)}/{self.rule}"


@dataclass(frozen=True)
class Notification:
    """One `action` (trigger, reminder or resolve) about `alert` for `receiver`, at `event_at`
    (the change, or when the reminder fell due). `status`, `previous` and `reason` describe the
    target at that instant: for a resolve, the status it went to and why."""

    receiver: str
    receiver_type: str
    action: str
    alert: Alert
    event_at: datetime
    status: str
    previous: str
    reason: str
    reminder: int = 0
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", notification_id(
            self.receiver, self.alert, self.action, self.reminder))

    @property
    def trigger_id(self) -> str:
        """The id of this alert's trigger to the same receiver."""
        return notification_id(self.receiver, self.alert, "trigger", 0)

    @property
    def hold_key(self) -> tuple[str, str, str]:
        return (self.receiver, self.alert.target, self.alert.rule)

    @property
    def duration_s(self) -> float:
        """How long the alert had lasted at `event_at`."""
        return max(0.0, (self.event_at - self.alert.started_at).total_seconds())

    @property
    def ended_at(self) -> datetime | None:
        return self.event_at if self.action == "resolve" else None

    def sort_key(self) -> tuple:
        return (self.event_at, ACTION_ORDER[self.action], self.alert.target, self.alert.rule,
                self.receiver)


def notification_id(receiver: str, alert: Alert, action: str, reminder: int) -> str:
    return digest(receiver, alert.target, alert.rule, stamp(alert.started_at), action, reminder)
