"""The `pagerduty` receiver's Events API v2 event: `trigger` for a trigger, `resolve` for a
resolve, with the dedup key per target and rule (`llmhealth/<target>/<rule>`), so the resolve
closes the incident its trigger opened. Reminders are not sent: PagerDuty escalates by itself."""

from __future__ import annotations

from aggregator.notify.alerts import iso
from aggregator.notify.compose import Message
from aggregator.notify.text import line

SUMMARY_MAX = 1024
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def body(message: Message, routing_key: str) -> dict:
    [n] = message.notifications
    alert = n.alert
    summary = line(n)
    return {
        "routing_key": routing_key,
        "event_action": "resolve" if n.action == "resolve" else "trigger",
        "dedup_key": alert.dedup_key,
        "client": "llmhealth",
        "payload": {
            "summary": summary if len(summary) <= SUMMARY_MAX else summary[:SUMMARY_MAX - 1] + "…",
            "source": alert.target,
            "severity": SEVERITY[alert.severity],
            "timestamp": iso(n.event_at),
            "component": alert.target_kind,
            "group": alert.pool,
            "class": alert.rule,
            "custom_details": {
                "notification_id": n.id,
                "status": n.status,
                "previous_status": n.previous,
                "reason": n.reason,
                "started_at": iso(alert.started_at),
                "ended_at": iso(n.ended_at),
                "duration_s": round(n.duration_s, 3),
            },
        },
    }
