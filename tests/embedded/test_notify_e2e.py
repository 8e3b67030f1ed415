"""The notifier end to end: the real evaluator (through Worker.run_once and its listeners) on
the embedded store with synthetic probe data, then Notifier instances that hear those instants
and deliver to local HTTP receivers on an ephemeral port.

Scenario (aggregator.interval 2 s, group_window 4 s): targets `a` and `b` answer until T0+2 s,
fail at 4, 6 and 8 s (both unhealthy at 8 s: one group window), and answer again from 14 s
(both healthy at 16 s). Times are those of the evaluation instants (T0 is yesterday noon), so
the notifier is judged on the events the evaluation stored, as a backfill would be.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aggregator.notify import Notifier
from aggregator.store.embedded import EmbeddedStore
from aggregator.worker import Worker
from llmhealth_config.model import Config
from tests.conftest import migrated_store
from tests.embedded import synthetic
from tests.embedded.synthetic import T0, instant
from tests.unit.test_notify_delivery import HttpReceiver

pytestmark = pytest.mark.embedded

STEPS = [(0, {"ok": 20}), (2, "ok"), (4, "http_5xx"), (6, "http_5xx"), (8, "http_5xx"),
         (10, None), (12, None), (14, "ok"), (16, "ok"), (18, "ok")]
HOOK_TOKEN = "hook-T0KEN-1f2e3d"
SLACK_PATH = "/services/T000/B000/sl4ckS3CR3T"
ROUTING_KEY = "R0UTING-KEY-9a8b7c"
SECRETS = (HOOK_TOKEN, "sl4ckS3CR3T", ROUTING_KEY, "bearer-S3CR3T")


def config(**notifications) -> Config:
    return Config.model_validate({
        "targets": [{"name": name, "base_url": "http://x/v1", "model": "m", "probes": ["completion"]}
                    for name in ("a", "b")],
        "thresholds": {"min_requests": 10},
        "notifications": {"group_window": "4s", "repeat_interval": None, "claim_settle": 0.2,
                          "delivery": {"retry_initial": "200ms", "retry_max": "500ms"},
                          **notifications}})


@pytest.fixture(scope="module")
def evaluated(engine_dir: Path) -> Iterator[tuple[EmbeddedStore, list[datetime]]]:
    """The scenario evaluated once by a Worker; yields the store and the instants its
    listener heard, in order."""
    with migrated_store(engine_dir) as store:
        worker = Worker(store, config())
        heard: list[datetime] = []
        worker.add_listener(heard.append)
        for offset, probes in STEPS:
            rows = [row for target in ("a", "b") for row in synthetic.step_rows(
                target, instant(offset) - timedelta(seconds=1), probes)]
            synthetic.points(store, rows)
            worker.run_once(now=instant(offset).timestamp())
        assert [(e[0], e[1], e[3], e[4]) for e in synthetic.events(store) if e[2] == "status"] == [
            (0, "a", "new", "healthy"), (0, "b", "new", "healthy"),
            (8, "a", "healthy", "unhealthy"), (8, "b", "healthy", "unhealthy"),
            (16, "a", "unhealthy", "healthy"), (16, "b", "unhealthy", "healthy")]
        yield store, heard


def receivers(server: HttpReceiver, prefix: str) -> tuple[dict, dict[str, str]]:
    """A webhook (with a bearer token), a Slack and a PagerDuty receiver on `server`, named
    `<prefix>-…` (the claims of each test are their own), and the environment they read."""
    env = {"HOOK_URL": server.url(f"/{prefix}/hook/{HOOK_TOKEN}"), "HOOK_TOKEN": "bearer-S3CR3T",
           "SLACK_URL": server.url(f"/{prefix}{SLACK_PATH}"), "PD_KEY": ROUTING_KEY}
    return {"receivers": [
        {"name": f"{prefix}-hook", "type": "webhook", "url_env": "HOOK_URL",
         "bearer_token_env": "HOOK_TOKEN"},
        {"name": f"{prefix}-slack", "type": "slack", "url_env": "SLACK_URL"},
        {"name": f"{prefix}-pd", "type": "pagerduty", "routing_key_env": "PD_KEY",
         "url": server.url(f"/{prefix}/pd/v2/enqueue")}]}, env


def replay(notifiers: list[Notifier], heard: list[datetime]) -> list[float]:
    """Tell every notifier each instant, as the worker does; return how long each call took."""
    took = []
    for at in heard:
        for notifier in notifiers:
            started = time.perf_counter()
            notifier.on_evaluated(at)
            took.append(time.perf_counter() - started)
    return took


def rows(store: EmbeddedStore, receiver_prefix: str) -> list[dict]:
    return store.rows("SELECT * FROM health_notifications FINAL WHERE startsWith(receiver, {p:String}) "
                      "ORDER BY at, id, attempt", {"p": receiver_prefix})


def settle(notifiers: list[Notifier], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(n.idle for n in notifiers):
        assert time.monotonic() < deadline, "notifiers did not settle"
        time.sleep(0.05)
    time.sleep(0.3)  # anything more would come now


def test_down_and_back_sends_one_trigger_and_one_resolve_per_receiver(evaluated, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # whatever an earlier test set it to
    store, heard = evaluated
    with HttpReceiver() as server:
        settings, env = receivers(server, "e2e")
        notifier = Notifier(store, config(**settings), environ=env)
        notifier.start()
        replay([notifier], heard)
        hook = server.wait_for(f"/e2e/hook/{HOOK_TOKEN}", 2)
        slack = server.wait_for(f"/e2e{SLACK_PATH}", 2)
        pd = server.wait_for("/e2e/pd/v2/enqueue", 4)
        settle([notifier])
        notifier.stop()
    assert len(server.requests) == 8

    trigger, resolve = (r.body for r in hook)
    assert hook[0].headers["Authorization"] == "Bearer bearer-S3CR3T"
    assert trigger["version"] == 1 and trigger["receiver"] == "e2e-hook"
    assert trigger["status"] == "firing" and trigger["summary"] == "llmhealth: 2 problems"
    assert trigger["group"] == {"start": iso(8), "end": iso(12)}
    reason = "completion: circuit breaker open: 3 consecutive failures (last: http_5xx)"
    assert [{k: a[k] for k in ("action", "target", "rule", "severity", "status", "previous_status",
                               "reason", "started_at", "event_at", "ended_at", "duration_s",
                               "dedup_key")} for a in trigger["alerts"]] == [
        {"action": "trigger", "target": t, "rule": "unhealthy", "severity": "critical",
         "status": "unhealthy", "previous_status": "healthy", "reason": reason,
         "started_at": iso(8), "event_at": iso(8), "ended_at": None, "duration_s": 0.0,
         "dedup_key": f"llmhealth/{t}/unhealthy"} for t in ("a", "b")]
    assert trigger["alerts"][0]["text"] == f"target a is unhealthy (critical) since {iso(8)}: {reason}"
    assert resolve["status"] == "resolved" and resolve["summary"] == "llmhealth: 2 resolved"
    assert [(a["action"], a["target"], a["status"], a["started_at"], a["ended_at"], a["duration_s"])
            for a in resolve["alerts"]] == [
        ("resolve", t, "healthy", iso(8), iso(16), 8.0) for t in ("a", "b")]
    assert resolve["alerts"][0]["text"].startswith("target a resolved: unhealthy for 8s, now healthy")

    assert slack[0].body["text"].startswith("llmhealth: 2 problems\ntarget a is unhealthy")
    assert [b["type"] for b in slack[0].body["blocks"]] == ["header", "section", "section"]
    assert slack[0].body["blocks"][1]["text"]["text"].startswith(":red_circle: target a is unhealthy")
    assert slack[1].body["blocks"][1]["text"]["text"].startswith(
        ":large_green_circle: target a resolved: unhealthy for 8s")

    events = [(e.body["event_action"], e.body["dedup_key"], e.body["payload"]["severity"])
              for e in pd]
    assert events == [("trigger", "llmhealth/a/unhealthy", "critical"),
                      ("trigger", "llmhealth/b/unhealthy", "critical"),
                      ("resolve", "llmhealth/a/unhealthy", "critical"),
                      ("resolve", "llmhealth/b/unhealthy", "critical")]
    assert all(e.body["routing_key"] == ROUTING_KEY for e in pd)
    assert pd[0].body["payload"]["source"] == "a" and pd[0].body["payload"]["class"] == "unhealthy"

    stored = rows(store, "e2e-")
    assert sorted((r["receiver"], r["action"], r["target"], r["attempt"], r["status"])
                  for r in stored) == sorted(
        (f"e2e-{kind}", action, target, attempt, status)
        for kind in ("hook", "slack", "pd") for action in ("trigger", "resolve")
        for target in ("a", "b") for attempt, status in ((0, "claimed"), (1, "sent")))
    assert {r["http_status"] for r in stored if r["status"] == "sent"} == {200}
    leaked = [s for s in SECRETS if s in json.dumps(stored) + caplog.text]
    assert leaked == []
    assert "<redacted>" in caplog.text  # httpx logs each request's URL: scrubbed


def test_a_receiver_that_is_down_gets_the_messages_afterwards(evaluated) -> None:
    """A receiver down for 60 s, scaled down to 3 s (retries 0.2 s doubling to 0.5 s, where the
    defaults are 1 s to 60 s): it gets the trigger and then the resolve once it is back, and
    the evaluation's listener calls never wait for it."""
    store, heard = evaluated
    path = f"/down/hook/{HOOK_TOKEN}"
    down_until = [float("inf")]

    def respond(request_path: str, n: int) -> tuple[int, str, float]:
        if n == 0:
            down_until[0] = time.monotonic() + 3.0
        return (503, "down", 0) if time.monotonic() < down_until[0] else (200, "ok", 0)

    with HttpReceiver(respond) as server:
        hook = {"name": "down-hook", "type": "webhook", "url_env": "HOOK_URL"}
        notifier = Notifier(store, config(receivers=[hook]), environ={"HOOK_URL": server.url(path)})
        notifier.start()
        took = replay([notifier], heard)
        server.wait_for(path, 1)
        settle([notifier])
        notifier.stop()
        requests = server.at(path)
    assert max(took) < 0.05  # the receiver is down for 3 s meanwhile
    delivered = [r for r in requests if r.at >= down_until[0]]
    assert [(r.body["status"], [a["target"] for a in r.body["alerts"]]) for r in delivered] == [
        ("firing", ["a", "b"]), ("resolved", ["a", "b"])]
    assert delivered[0].at - requests[0].at >= 3.0
    stored = rows(store, "down-")
    trigger_a = [(r["attempt"], r["status"], r["error"]) for r in stored
                 if r["target"] == "a" and r["action"] == "trigger"]
    assert trigger_a[0] == (0, "claimed", "")
    assert trigger_a[-1][1] == "sent" and len(trigger_a) >= 5
    assert {status for _, status, _ in trigger_a[1:-1]} == {"failed"}
    assert {error for _, _, error in trigger_a[1:-1]} == {"HTTP 503: down"}


def test_a_maintenance_window_silences_its_targets(evaluated) -> None:
    store, heard = evaluated
    path = f"/quiet/hook/{HOOK_TOKEN}"
    with HttpReceiver() as server:
        settings = {
            "receivers": [{"name": "quiet-hook", "type": "webhook", "url_env": "HOOK_URL"}],
            "maintenance": [{"name": "upgrade of a", "targets": ["a"],
                             "start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}]}
        notifier = Notifier(store, config(**settings), environ={"HOOK_URL": server.url(path)})
        notifier.start()
        replay([notifier], heard)
        server.wait_for(path, 2)
        settle([notifier])
        notifier.stop()
    assert [[(a["action"], a["target"]) for a in r.body["alerts"]] for r in server.at(path)] == [
        [("trigger", "b")], [("resolve", "b")]]
    assert {r["target"] for r in rows(store, "quiet-")} == {"b"}


def test_two_aggregators_send_each_message_once(evaluated) -> None:
    store, heard = evaluated
    with HttpReceiver() as server:
        settings, env = receivers(server, "twice")
        first = Notifier(store, config(**settings), environ=env, instance="aggregator-1")
        second = Notifier(store, config(**settings), environ=env, instance="aggregator-2")
        for notifier in (first, second):
            notifier.start()
        replay([first, second], heard)
        server.wait_for("/twice/pd/v2/enqueue", 4)
        settle([first, second])
        for notifier in (first, second):
            notifier.stop()
    assert sorted(r.path.split("/")[2] for r in server.requests) == ["hook"] * 2 + ["pd"] * 4 + [
        "services"] * 2
    stored = rows(store, "twice-")
    sent = [(r["id"], r["instance"]) for r in stored if r["status"] == "sent"]
    assert len(sent) == len({i for i, _ in sent}) == 12
    claimers = {(r["id"], r["instance"]) for r in stored if r["status"] == "claimed"}
    assert {i for i, _ in claimers} == {i for i, _ in sent}


def iso(offset_s: float) -> str:
    return (T0 + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
