"""Messages: what one POST to one receiver carries.

A webhook or Slack receiver gets one message per group window with everything it is told in
that window (triggers, reminders, resolves), in order. A PagerDuty receiver gets one event per
notification: its dedup key is per target and rule, so changes cannot share an event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.notify.alerts import Notification, digest
from aggregator.notify.plan import Bucket


@dataclass
class Message:
    """`notifications` for `receiver`, sent in one request. `id` is derived from the
    notifications, so a retry (or another aggregator) sends the same id; `created` is when it
    was queued (time.monotonic), from which `delivery.give_up_after` counts."""

    receiver: str
    receiver_type: str
    notifications: list[Notification]
    bucket: Bucket
    id: str = ""
    created: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = digest(*sorted(n.id for n in self.notifications))

    @property
    def firing(self) -> bool:
        return any(n.action != "resolve" for n in self.notifications)


def messages(won: Sequence[Notification], bucket: Bucket) -> list[Message]:
    """The messages of the notifications this aggregator won in `bucket`, in order."""
    by_receiver: dict[str, list[Notification]] = {}
    for n in sorted(won, key=Notification.sort_key):
        by_receiver.setdefault(n.receiver, []).append(n)
    out = []
    for receiver, items in by_receiver.items():
        kind = items[0].receiver_type
        if kind == "pagerduty":
            out += [Message(receiver, kind, [n], bucket) for n in items]
        else:
            out.append(Message(receiver, kind, items, bucket))
    return out
