"""The notifier's planning thread (aggregator/notify/notifier.py) with its store I/O replaced:
the worker's call returns at once whatever the planning does, windows are planned once each and
in order, a store error plans the window again without losing what was already claimed, and
without receivers nothing runs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from aggregator.notify import Notifier
from aggregator.notify import notifier as notifier_module
from aggregator.notify.alerts import Notification
from aggregator.notify.plan import Bucket, Change, Claim
from aggregator.store.base import StoreError
from llmhealth_config.model import Config

T = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


class FakeLedger:
    """Changes given per window start; claims kept in memory (this notifier always wins)."""

    instance = "me"

    def __init__(self, changes: dict[datetime, list[Change]]) -> None:
        self._changes = changes
        self.planned: list[tuple[float, float]] = []
        self.claimed: dict[str, Claim] = {}
        self.fail_claim_reads = 0
        self.gate = threading.Event()
        self.gate.set()

    def changes(self, bucket: Bucket) -> list[Change]:
        self.gate.wait(10)
        self.planned.append(((bucket.start - T).total_seconds(), (bucket.end - T).total_seconds()))
        return self._changes.get(bucket.start, [])

    def open_alerts(self, instant: datetime) -> list:
        return []

    def claims(self, ids) -> dict[str, Claim]:
        return {i: self.claimed[i] for i in ids if i in self.claimed}

    def trigger_times(self, candidates, min_repeat_s) -> dict:
        return {}

    def claim(self, notifications: list[Notification], settle_s: float, stop) -> list[Notification]:
        for n in notifications:
            self.claimed[n.id] = Claim(self.instance, False)
        if self.fail_claim_reads:
            self.fail_claim_reads -= 1
            raise StoreError("the store went away while reading the claims")
        return list(notifications)

    def record(self, rows) -> None:
        pass


class Inbox:
    """Stands in for a receiver's delivery: collects what is queued."""

    def __init__(self) -> None:
        self.messages: list = []

    def submit(self, message) -> None:
        self.messages.append(message)

    def start(self) -> None:
        pass

    def stop(self, timeout: float) -> None:
        pass

    @property
    def idle(self) -> bool:
        return True


def notifier(ledger: FakeLedger) -> tuple[Notifier, Inbox]:
    config = Config.model_validate({"notifications": {
        "receivers": [{"name": "hook", "type": "webhook", "url_env": "HOOK"}],
        "group_window": "4s", "claim_settle": 0}})
    n = Notifier(object(), config, environ={"HOOK": "http://127.0.0.1:9/hook"},  # type: ignore[arg-type]
                 instance=ledger.instance)
    inbox = Inbox()
    n.ledger = ledger  # type: ignore[assignment]
    n.deliveries = {"hook": inbox}  # type: ignore[dict-item]
    return n, inbox


def down(target: str, when: float) -> Change:
    return Change(target, at(when), "healthy", "unhealthy", "down", "target", "", at(0), "")


def wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_workers_call_returns_at_once_while_planning_is_held_up() -> None:
    ledger = FakeLedger({})
    ledger.gate.clear()  # every store read hangs until released
    n, _ = notifier(ledger)
    n.start()
    try:
        started = time.perf_counter()
        for k in range(50):
            n.on_evaluated(at(2 * k))
        assert time.perf_counter() - started < 0.5  # 50 calls; a store read hangs meanwhile
    finally:
        ledger.gate.set()
        n.stop()


def test_windows_are_planned_once_each_in_order_from_the_one_before_the_first_instant() -> None:
    ledger = FakeLedger({at(8): [down("a", 8), down("b", 10)], at(12): [down("c", 12)]})
    n, inbox = notifier(ledger)
    n.start()
    for k in range(3, 9):  # instants 6 … 16 s; the window [16, 20) is not over
        n.on_evaluated(at(2 * k))
    wait(lambda: n.idle)
    n.stop()
    assert ledger.planned == [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert [[x.alert.target for x in m.notifications] for m in inbox.messages] == [["a", "b"], ["c"]]


def test_a_store_error_plans_the_window_again_and_queues_what_it_had_claimed(monkeypatch) -> None:
    monkeypatch.setattr(notifier_module, "RETRY_S", 0.05)
    ledger = FakeLedger({at(8): [down("a", 8)]})
    ledger.fail_claim_reads = 1
    n, inbox = notifier(ledger)
    n.start()
    n.on_evaluated(at(10))
    wait(lambda: len(inbox.messages) == 1 and n.idle, timeout=15)
    n.on_evaluated(at(14))  # the next window: the trigger is claimed and queued, not again
    wait(lambda: n.idle)
    n.stop()
    assert [[x.alert.target for x in m.notifications] for m in inbox.messages] == [["a"]]
    assert n.last_error is None


def test_without_receivers_nothing_runs() -> None:
    n = Notifier(object(), Config(), environ={})  # type: ignore[arg-type]
    n.start()
    n.on_evaluated(T)
    assert not n.enabled and n.idle
    n.stop()
