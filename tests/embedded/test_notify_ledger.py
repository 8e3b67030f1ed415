"""The store as the arbiter between aggregators (aggregator/notify/ledger.py): claims made at
the same moment by two notifiers, one in this process (chDB) and one over the embedded store's
HTTP endpoint as a separate aggregator process reaches it, name one winner per notification
that both agree on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.notify.alerts import Alert, Notification
from aggregator.notify.ledger import Ledger, row
from aggregator.store.http import HttpStore
from tests.embedded.conftest import PASSWORD

pytestmark = pytest.mark.embedded
T = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def notes(prefix: str, count: int) -> list[Notification]:
    return [Notification("hook", "webhook", "trigger",
                         Alert(f"{prefix}{i}", "target", "", "unhealthy", T, "down\nhard"),
                         T, "unhealthy", "healthy", "down\nhard") for i in range(count)]


@pytest.fixture
def over_http(store, endpoint):
    client = HttpStore(f"{endpoint.url}/", "default", PASSWORD, store.database,
                       where="the test store", password_hint="")
    yield client
    client.close()


def test_claims_at_the_same_moment_have_one_winner_both_agree_on(store, over_http) -> None:
    ledgers = [Ledger(store, "aggregator-1", 30), Ledger(over_http, "aggregator-2", 30)]
    for round_ in range(3):
        candidates = notes(f"r{round_}-", 20)
        barrier = threading.Barrier(2)
        won: dict[str, list[Notification]] = {}

        def claim(ledger: Ledger, candidates=candidates, barrier=barrier, won=won) -> None:
            barrier.wait()
            won[ledger.instance] = ledger.claim(candidates, 0.3, threading.Event()) or []

        threads = [threading.Thread(target=claim, args=(ledger,)) for ledger in ledgers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        first, second = ({n.id for n in won[ledger.instance]} for ledger in ledgers)
        assert first | second == {n.id for n in candidates}
        assert first & second == set()
        claims = ledgers[0].claims(n.id for n in candidates)
        assert {i for i, c in claims.items() if c.winner == "aggregator-1"} == first
    rows = store.rows("SELECT count() AS n, uniqExact(id) AS ids FROM health_notifications")
    assert rows == [{"n": 120, "ids": 60}]  # every id claimed by both


def test_a_later_claim_loses_to_an_earlier_one_and_done_follows_the_attempts(store) -> None:
    early, late = Ledger(store, "b-early", 30), Ledger(store, "a-late", 30)
    candidates = notes("x", 3)
    assert early.claim(candidates, 0.05, threading.Event()) == candidates
    assert late.claim(candidates, 0.05, threading.Event()) == []  # "a-late" sorts first: later
    claims = late.claims(n.id for n in candidates)
    assert {c.winner for c in claims.values()} == {"b-early"}
    assert not any(c.done for c in claims.values())
    early.record([row(candidates[0], instance="b-early", attempt=1, status="sent",
                      at=datetime.now(UTC), message_id="m", http_status=200)])
    assert [late.claims([n.id])[n.id].done for n in candidates] == [True, False, False]
    stored = store.rows("SELECT reason FROM health_notifications WHERE attempt = 1")
    assert stored == [{"reason": "down\nhard"}]


def test_trigger_times_are_read_per_receiver_target_and_rule(store) -> None:
    ledger = Ledger(store, "one", 30)
    ledger.claim(notes("t", 2), 0, threading.Event())
    later = notes("t", 1)[0]
    times = ledger.trigger_times([later], 600)
    assert times == {("hook", "t0", "unhealthy"): [T]}
