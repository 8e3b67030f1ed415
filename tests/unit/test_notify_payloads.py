"""What each receiver type is sent (aggregator/notify/webhook.py, slack.py, pagerduty.py), as
documented in docs/notifications.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.notify import pagerduty, slack, webhook
from aggregator.notify.alerts import Alert, Notification
from aggregator.notify.compose import Message, messages
from aggregator.notify.plan import Grouping

T = datetime(2026, 12, 4, 12, 0, 8, tzinfo=UTC)
BUCKET = Grouping(10, 2).of(T)
DOWN = Alert("gw/llama", "target", "chat", "unhealthy", T, "completion: circuit breaker open")


def note(action: str, receiver: str = "hook", kind: str = "webhook", alert: Alert = DOWN,
         after_s: float = 0) -> Notification:
    status = "healthy" if action == "resolve" else alert.rule
    reason = "completion: healthy" if action == "resolve" else alert.reason
    return Notification(receiver, kind, action, alert, T + timedelta(seconds=after_s), status,
                        "healthy" if action == "trigger" else alert.rule, reason)


def test_the_webhook_body() -> None:
    [message] = messages([note("resolve", after_s=192), note("trigger")], BUCKET)
    body = webhook.body(message)
    assert body["version"] == 1 and body["id"] == message.id and body["receiver"] == "hook"
    assert body["status"] == "firing" and body["summary"] == "llmhealth: 1 problem, 1 resolved"
    assert body["group"] == {"start": "2026-12-04T12:00:00.000Z", "end": "2026-12-04T12:00:10.000Z"}
    trigger, resolve = body["alerts"]  # in order of their instants
    assert trigger == {
        "id": message.notifications[0].id, "action": "trigger", "target": "gw/llama",
        "target_kind": "target", "pool": "chat", "rule": "unhealthy", "severity": "critical",
        "status": "unhealthy", "previous_status": "healthy",
        "reason": "completion: circuit breaker open", "started_at": "2026-12-04T12:00:08.000Z",
        "event_at": "2026-12-04T12:00:08.000Z", "ended_at": None, "duration_s": 0.0,
        "reminder": 0, "dedup_key": "llmhealth/gw/llama/unhealthy",
        "text": "target gw/llama is unhealthy (critical) since 2026-12-04T12:00:08.000Z: "
                "completion: circuit breaker open"}
    assert (resolve["ended_at"], resolve["duration_s"], resolve["text"]) == (
        "2026-12-04T12:03:20.000Z", 192.0,
        "target gw/llama resolved: unhealthy for 3m 12s, now healthy: completion: healthy")


def test_a_message_id_is_the_same_for_the_same_notifications() -> None:
    one = Message("hook", "webhook", [note("trigger"), note("resolve", after_s=4)], BUCKET)
    two = Message("hook", "webhook", [note("resolve", after_s=4), note("trigger")], BUCKET)
    assert one.id == two.id and len(one.id) == 32


def test_slack_gets_text_and_blocks_and_at_most_50_blocks() -> None:
    alerts = [Alert(f"t{i:02d}", "target", "", "degraded", T, "latency p99 7 s > 5 s <x>")
              for i in range(60)]
    [message] = messages([note("trigger", "chat", "slack", a) for a in alerts], BUCKET)
    body = slack.body(message)
    assert body["text"].startswith("llmhealth: 60 problems\ntarget t00 is degraded (warning)")
    assert "&lt;x&gt;" in body["text"]
    blocks = body["blocks"]
    assert len(blocks) == 47 and blocks[0]["type"] == "header"
    assert blocks[1]["text"]["text"].startswith(":large_orange_circle: target t00 is degraded")
    assert blocks[-1]["text"]["text"] == "… and 15 more (see health_notifications)"


def test_pagerduty_gets_one_event_per_notification_with_the_dedup_key_per_target_and_rule() -> None:
    queued = messages([note("trigger", "pd", "pagerduty"),
                       note("resolve", "pd", "pagerduty", after_s=64)], BUCKET)
    trigger, resolve = (pagerduty.body(m, "ROUTING-KEY") for m in queued)
    assert trigger == {
        "routing_key": "ROUTING-KEY", "event_action": "trigger",
        "dedup_key": "llmhealth/gw/llama/unhealthy", "client": "llmhealth",
        "payload": {
            "summary": "target gw/llama is unhealthy (critical) since 2026-12-04T12:00:08.000Z: "
                       "completion: circuit breaker open",
            "source": "gw/llama", "severity": "critical", "timestamp": "2026-12-04T12:00:08.000Z",
            "component": "target", "group": "chat", "class": "unhealthy",
            "custom_details": {"notification_id": queued[0].notifications[0].id,
                               "status": "unhealthy", "previous_status": "healthy",
                               "reason": "completion: circuit breaker open",
                               "started_at": "2026-12-04T12:00:08.000Z", "ended_at": None,
                               "duration_s": 0.0}}}
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", trigger["dedup_key"])
    assert resolve["payload"]["summary"] == (
        "target gw/llama resolved: unhealthy for 1m 4s, now healthy: completion: healthy")


def test_a_long_target_name_gets_a_hashed_dedup_key_within_pagerdutys_limit() -> None:
    long = Alert("x" * 250, "target", "", "degraded", T, "")
    assert len(long.dedup_key) <= 255 and long.dedup_key.startswith("llmhealth/")
    assert long.dedup_key.endswith("/degraded")
