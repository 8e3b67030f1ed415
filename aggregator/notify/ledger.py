"""The notifier's store I/O: what the evaluation wrote (changes, open alerts) and
health_notifications, the ledger of claims and delivery attempts.

Claims make the store the arbiter between aggregators running at once. Before a notification
is sent, its claim row is inserted (`at` stamped by the store's own clock), the notifier waits
`claim_settle` seconds, then reads every claim of that id: the first by (at, instance) wins and
only its aggregator sends. Two aggregators that claim the same id within `claim_settle` of each
other both read both rows and name the same winner; one that claims later reads the earlier
claim (or, planning later still, finds it before claiming and claims nothing). See
docs/notifications.md for what this guarantees and where it stops.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from aggregator import sql
from aggregator.notify.alerts import Alert, Notification, parse_time, stamp
from aggregator.notify.plan import Bucket, Change, Claim
from aggregator.store.base import Store
from llmhealth_config.notifications import STATUS_SEVERITY

DONE = ("sent", "gave_up", "dropped")
"""Statuses of a row that ends a notification's delivery."""


def row(n: Notification, *, instance: str, attempt: int, status: str, at: datetime | None,
        message_id: str = "", http_status: int = 0, duration_ms: float = 0.0,
        error: str = "") -> dict:
    """A health_notifications row (JSON for notify_record.sql); `at` None: the store's clock."""
    alert = n.alert
    return {"at": stamp(at) if at else None, "id": n.id, "attempt": attempt, "status": status,
            "instance": instance, "receiver": n.receiver, "receiver_type": n.receiver_type,
            "message_id": message_id, "action": n.action, "target": alert.target,
            "target_kind": alert.target_kind, "pool": alert.pool, "rule": alert.rule,
            "severity": alert.severity, "started_at": stamp(alert.started_at),
            "event_at": stamp(n.event_at), "http_status": http_status,
            "duration_ms": round(duration_ms, 3), "error": error, "reason": n.reason}


class Ledger:
    """Reads and writes of one notifier (`instance`); `lookback_s` is how far back a target's
    previous snapshot carries its state (aggregator.evaluate.state_lookback)."""

    def __init__(self, store: Store, instance: str, lookback_s: int) -> None:
        self.store = store
        self.instance = instance
        self._lookback_s = lookback_s

    def changes(self, bucket: Bucket) -> list[Change]:
        rows = self.store.rows(sql.query("notify_changes"), {
            "from": bucket.start, "to": bucket.end, "lookback_s": self._lookback_s})
        return [Change(target=r["target"], at=parse_time(r["at"]), from_state=r["from_state"],
                       to_state=r["to_state"], reason=r["reason"],
                       target_kind=r["target_kind"] or "target", pool=r["pool"] or "",
                       since=parse_time(r["since"]) if r["since"] is not None else None,
                       since_reason=r["since_reason"] or "")
                for r in rows]

    def open_alerts(self, at: datetime) -> list[Alert]:
        rows = self.store.rows(sql.query("notify_open"), {"at": at, "rules": sorted(STATUS_SEVERITY)})
        return [Alert(r["target"], r["target_kind"], r["pool"], r["status"],
                      parse_time(r["status_since"]), r["reason"]) for r in rows]

    def claims(self, ids: Iterable[str]) -> dict[str, Claim]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.store.rows(sql.query("notify_claims"), {"ids": wanted, "done": list(DONE)})
        return {r["id"]: Claim(r["winner"], bool(int(r["done"]))) for r in rows if r["winner"]}

    def trigger_times(self, candidates: Sequence[Notification],
                      min_repeat_s: float | None) -> dict[tuple[str, str, str], list[datetime]]:
        """When the triggers of the candidates' (receiver, target, rule) were claimed, within
        `min_repeat_s` before the earliest candidate trigger."""
        triggers = [n for n in candidates if n.action == "trigger"]
        if not triggers or not min_repeat_s:
            return {}
        since = min(n.event_at for n in triggers) - timedelta(seconds=min_repeat_s)
        rows = self.store.rows(sql.query("notify_last_triggers"), {
            "targets": sorted({n.alert.target for n in triggers}), "since": since})
        return {(r["receiver"], r["target"], r["rule"]): [parse_time(t) for t in r["times"]]
                for r in rows}

    def record(self, rows: Sequence[dict]) -> None:
        if rows:
            self.store.execute(sql.query("notify_record"),
                               {"rows": "\n".join(json.dumps(r) for r in rows)})

    def claim(self, notifications: Sequence[Notification], settle_s: float,
              stop: threading.Event) -> list[Notification] | None:
        """Claim `notifications`; return those this instance won (None when stopped while
        waiting for the claims of others to settle)."""
        if not notifications:
            return []
        self.record([row(n, instance=self.instance, attempt=0, status="claimed", at=None)
                     for n in notifications])
        if settle_s and stop.wait(settle_s):
            return None
        claims = self.claims(n.id for n in notifications)
        return [n for n in notifications
                if n.id in claims and claims[n.id].winner == self.instance]


def now() -> datetime:
    return datetime.now(UTC)
