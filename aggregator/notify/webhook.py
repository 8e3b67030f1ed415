"""The `webhook` receiver's JSON body (version 1, documented in docs/notifications.md): one
POST per message, every notification of the group window with all its fields."""

from __future__ import annotations

from aggregator.notify.alerts import Notification, iso
from aggregator.notify.compose import Message
from aggregator.notify.text import headline, line

VERSION = 1


def alert_fields(n: Notification) -> dict:
    """One notification as the webhook body lists it."""
    alert = n.alert
    return {
        "id": n.id,
        "action": n.action,
        "target": alert.target,
        "target_kind": alert.target_kind,
        "pool": alert.pool,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": n.status,
        "previous_status": n.previous,
        "reason": n.reason,
        "started_at": iso(alert.started_at),
        "event_at": iso(n.event_at),
        "ended_at": iso(n.ended_at),
        "duration_s": round(n.duration_s, 3),
        "reminder": n.reminder,
        "dedup_key": alert.dedup_key,
        "text": line(n),
    }


def body(message: Message) -> dict:
    return {
        "version": VERSION,
        "id": message.id,
        "receiver": message.receiver,
        "status": "firing" if message.firing else "resolved",
        "summary": headline(message.notifications),
        "group": {"start": iso(message.bucket.start), "end": iso(message.bucket.end)},
        "alerts": [alert_fields(n) for n in message.notifications],
    }
