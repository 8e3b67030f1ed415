"""What the notifier decides for a group window (aggregator/notify/plan.py, routes.py,
maintenance.py), from changes and open alerts given directly: grouping windows, routes by
target, pool and severity, reminders, maintenance windows, the minimum repeat interval, and
the order of a resolve after its trigger across aggregators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.notify.alerts import Alert
from aggregator.notify.maintenance import Maintenance
from aggregator.notify.plan import Change, Claim, Grouping, Planner, decide
from aggregator.notify.routes import Router
from aggregator.notify.text import duration_text
from llmhealth_config.notifications import NotificationSettings

T = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ME, OTHER = "aggregator-1", "aggregator-2"


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def settings(**values) -> NotificationSettings:
    receivers = [{"name": "hook", "type": "webhook", "url_env": "A"},
                 {"name": "pd", "type": "pagerduty", "routing_key_env": "B"}]
    return NotificationSettings.model_validate({"receivers": receivers, **values})


def planner(s: NotificationSettings) -> Planner:
    return Planner(Router(s), {r.name: r.type for r in s.receivers}, s.repeat_interval)


def change(target: str, when: float, frm: str, to: str, since: float | None = 0.0,
           pool: str = "", kind: str = "target") -> Change:
    return Change(target, at(when), frm, to, f"{target} is {to}", kind, pool,
                  at(since) if since is not None else None, f"{target} was {frm}")


def alert(target: str, rule: str, since: float, pool: str = "") -> Alert:
    return Alert(target, "target", pool, rule, at(since), f"{target} is {rule}")


BUCKET = Grouping(10, 2).of(at(0))  # [12:00:00, 12:00:10), last instant 12:00:08


def brief(notifications) -> list[tuple]:
    return [(n.receiver, n.action, n.alert.target, n.alert.rule, (n.event_at - T).total_seconds())
            for n in notifications]


@pytest.mark.parametrize(("window", "interval", "instant", "expected"), [
    pytest.param(10, 2, 4, (0, 10, 8), id="aligned"),
    pytest.param(10, 2, 10, (10, 20, 18), id="next-window"),
    pytest.param(5, 2, 6, (5, 10, 8), id="window-not-a-multiple-of-the-interval"),
    pytest.param(1, 2, 4, (4, 5, 4), id="window-shorter-than-the-interval"),
])
def test_group_windows_are_aligned_to_the_epoch(window: float, interval: float, instant: float,
                                                 expected: tuple) -> None:
    bucket = Grouping(window, interval).of(at(instant))
    assert ((bucket.start - T).total_seconds(), (bucket.end - T).total_seconds(),
            (bucket.last - T).total_seconds()) == expected


def test_a_window_with_no_instant_is_empty() -> None:
    grouping = Grouping(1, 2)
    assert not grouping.of(at(4)).empty
    assert grouping.after(grouping.of(at(4))).empty  # [5, 6): no multiple of 2 s


def test_changes_become_resolves_and_triggers_for_every_routed_receiver() -> None:
    found = planner(settings()).candidates(BUCKET, [
        change("a", 2, "healthy", "unhealthy"),
        change("b", 4, "unhealthy", "degraded", since=-30),
        change("c", 6, "new", "healthy", since=None),
    ], [])
    assert brief(found) == [
        ("hook", "trigger", "a", "unhealthy", 2), ("pd", "trigger", "a", "unhealthy", 2),
        ("hook", "resolve", "b", "unhealthy", 4), ("pd", "resolve", "b", "unhealthy", 4),
        ("hook", "trigger", "b", "degraded", 4), ("pd", "trigger", "b", "degraded", 4)]
    resolve = found[2]
    assert (resolve.duration_s, resolve.status, resolve.reason) == (34.0, "degraded", "b is degraded")
    assert resolve.alert.reason == "b was unhealthy"


def test_an_open_alert_never_triggered_is_a_trigger_at_the_windows_last_instant() -> None:
    found = planner(settings()).candidates(BUCKET, [], [alert("a", "unhealthy", since=-600)])
    assert brief(found) == [("hook", "trigger", "a", "unhealthy", 8),
                            ("pd", "trigger", "a", "unhealthy", 8)]
    # the same id as the trigger the change itself would have given: it is sent once
    direct = planner(settings()).candidates(
        Grouping(10, 2).of(at(-600)), [change("a", -600, "healthy", "unhealthy")], [])
    assert {n.id for n in found} == {n.id for n in direct}


def test_reminders_fall_due_every_repeat_interval_and_not_for_pagerduty() -> None:
    s = settings(repeat_interval="1h")
    found = planner(s).candidates(BUCKET, [], [alert("a", "unhealthy", since=-7200 + 4)])
    assert [(n.receiver, n.action, n.reminder, (n.event_at - T).total_seconds()) for n in found
            if n.action == "reminder"] == [("hook", "reminder", 2, 4)]
    assert planner(settings(repeat_interval=None)).candidates(
        BUCKET, [], [alert("a", "unhealthy", since=-7200 + 4)])[-1].action == "trigger"


@pytest.mark.parametrize(("routes", "target", "pool", "rule", "receivers"), [
    pytest.param([], "a", "", "degraded", ["hook", "pd"], id="no-routes:-every-receiver"),
    pytest.param([], "a", "", "unknown", [], id="no-routes:-not-info"),
    pytest.param([{"receivers": ["pd"], "min_severity": "critical"}], "a", "", "degraded", [],
                 id="below-min-severity"),
    pytest.param([{"receivers": ["pd"], "targets": ["openai-*"]}], "openai-gpt", "", "unhealthy",
                 ["pd"], id="target-pattern"),
    pytest.param([{"receivers": ["pd"], "targets": ["openai-*"]}], "claude", "", "unhealthy", [],
                 id="target-pattern-not-matched"),
    pytest.param([{"receivers": ["pd"], "pools": ["chat"]}], "gw-1", "chat", "unhealthy", ["pd"],
                 id="member-of-a-pool"),
    pytest.param([{"receivers": ["pd"], "pools": ["chat"]}], "chat", "chat", "degraded", ["pd"],
                 id="the-pool-itself"),
    pytest.param([{"receivers": ["pd"], "targets": ["x"], "pools": ["chat"]}], "x", "", "unhealthy",
                 ["pd"], id="targets-or-pools"),
    pytest.param([{"receivers": ["pd"], "min_severity": "critical"}, {"receivers": ["hook", "pd"]}],
                 "a", "", "unhealthy", ["hook", "pd"], id="routes-add-up-each-receiver-once"),
])
def test_routes_by_target_pool_and_severity(routes: list, target: str, pool: str, rule: str,
                                            receivers: list[str]) -> None:
    router = Router(settings(routes=routes))
    assert router.receivers_for(Alert(target, "target", pool, rule, T, "")) == receivers


def test_a_maintenance_window_silences_triggers_and_reminders_but_not_resolves() -> None:
    s = settings(maintenance=[{"name": "upgrade", "targets": ["a"], "start": at(-60),
                               "end": at(5)}], repeat_interval="10s", min_repeat_interval=None)
    p = planner(s)
    quiet = Maintenance(s.maintenance)
    found = p.candidates(BUCKET, [change("a", 2, "healthy", "unhealthy"),
                                  change("b", 2, "healthy", "unhealthy")], [])
    decision = decide(found, {}, {}, quiet, None, ME)
    assert brief(decision.send) == [("hook", "trigger", "b", "unhealthy", 2),
                                    ("pd", "trigger", "b", "unhealthy", 2)]
    assert {why for _, why in decision.skipped} == {"maintenance window upgrade"}
    # still open after the window: triggered at the next window's last instant
    later = Grouping(10, 2).of(at(10))
    found = p.candidates(later, [], [alert("a", "unhealthy", since=2)])
    assert brief(decide(found, {}, {}, quiet, None, ME).send) == [
        ("hook", "trigger", "a", "unhealthy", 18), ("pd", "trigger", "a", "unhealthy", 18)]
    # a resolve inside the window, of an alert triggered before it, is sent
    resolve = p.candidates(BUCKET, [change("a", 4, "unhealthy", "healthy", since=-120)], [])
    claims = {n.trigger_id: Claim(ME, True) for n in resolve}
    assert brief(decide(resolve, claims, {}, quiet, None, ME).send) == [
        ("hook", "resolve", "a", "unhealthy", 4), ("pd", "resolve", "a", "unhealthy", 4)]


def test_the_minimum_repeat_interval_holds_a_new_trigger_and_its_resolve() -> None:
    s = settings(min_repeat_interval="5m")
    p, none = planner(s), Maintenance([])
    earlier = {("hook", "a", "unhealthy"): [at(-60)], ("pd", "a", "unhealthy"): [at(-600)]}
    found = p.candidates(BUCKET, [change("a", 2, "healthy", "unhealthy"),
                                  change("a", 6, "unhealthy", "healthy", since=2)], [])
    decision = decide(found, {}, earlier, none, s.min_repeat_interval, ME)
    # hook was told 62 s before: held, and so its resolve is not sent; pd 10 min before: sent
    assert brief(decision.send) == [("pd", "trigger", "a", "unhealthy", 2),
                                    ("pd", "resolve", "a", "unhealthy", 6)]
    assert [(n.receiver, n.action, why) for n, why in decision.skipped] == [
        ("hook", "trigger", "triggered 62 s before (min_repeat_interval 300 s)"),
        ("hook", "resolve", "its trigger was not sent to this receiver")]


def test_a_held_trigger_goes_out_once_the_interval_has_passed_if_still_open() -> None:
    s = settings(min_repeat_interval="5m", routes=[{"receivers": ["hook"]}])
    earlier = {("hook", "a", "unhealthy"): [at(-60)]}
    p, none = planner(s), Maintenance([])
    still_open = [alert("a", "unhealthy", since=2)]
    soon = Grouping(10, 2).of(at(200))
    assert decide(p.candidates(soon, [], still_open), {}, earlier, none, 300, ME).send == []
    later = Grouping(10, 2).of(at(240))  # its last instant, 248 s, is 308 s after the last trigger
    [trigger] = decide(p.candidates(later, [], still_open), {}, earlier, none, 300, ME).send
    assert (trigger.action, (trigger.event_at - T).total_seconds(), trigger.alert.started_at) == (
        "trigger", 248, at(2))


def test_flapping_within_one_window_triggers_once() -> None:
    s = settings(min_repeat_interval="5m", routes=[{"receivers": ["hook"]}])
    found = planner(s).candidates(BUCKET, [
        change("a", 0, "healthy", "unhealthy"), change("a", 2, "unhealthy", "healthy", since=0),
        change("a", 4, "healthy", "unhealthy", since=2), change("a", 6, "unhealthy", "healthy", since=4)],
        [])
    assert brief(decide(found, {}, {}, Maintenance([]), 300, ME).send) == [
        ("hook", "trigger", "a", "unhealthy", 0), ("hook", "resolve", "a", "unhealthy", 2)]


@pytest.mark.parametrize(("trigger", "overdue", "outcome"), [
    pytest.param(Claim(ME, False), False, "send", id="mine:-my-queue-keeps-the-order"),
    pytest.param(Claim(OTHER, True), False, "send", id="theirs-delivered"),
    pytest.param(Claim(OTHER, False), False, "deferred", id="theirs-still-being-delivered"),
    pytest.param(Claim(OTHER, False), True, "send", id="theirs-but-waited-long-enough"),
])
def test_a_resolve_waits_for_another_aggregators_trigger_delivery(trigger: Claim, overdue: bool,
                                                                  outcome: str) -> None:
    s = settings(routes=[{"receivers": ["pd"]}])
    [resolve] = planner(s).candidates(BUCKET, [change("a", 4, "unhealthy", "healthy", since=-30)], [])
    decision = decide([resolve], {resolve.trigger_id: trigger}, {}, Maintenance([]), None, ME,
                      frozenset({resolve.id}) if overdue else frozenset())
    assert {"send": decision.send, "deferred": decision.deferred}[outcome] == [resolve]


def test_what_another_aggregator_claimed_is_not_claimed_again() -> None:
    found = planner(settings()).candidates(BUCKET, [change("a", 2, "healthy", "unhealthy")], [])
    claims = {n.id: Claim(OTHER, False) for n in found}
    assert decide(found, claims, {}, Maintenance([]), None, ME).send == []


@pytest.mark.parametrize(("seconds", "text"), [
    (8, "8s"), (59.6, "1m 0s"), (192, "3m 12s"), (7500, "2h 5m"), (273600, "3d 4h")])
def test_durations_read_short(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_a_pool_alert_keeps_its_kind_and_pool() -> None:
    found = planner(settings()).candidates(
        BUCKET, [change("chat", 2, "healthy", "degraded", pool="chat", kind="pool")], [])
    assert {(n.alert.target_kind, n.alert.pool, n.alert.severity) for n in found} == {
        ("pool", "chat", "warning")}
