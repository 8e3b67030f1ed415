"""The `notifications` settings (llmhealth_config/notifications.py): one invalid file per rule
with its exact message, a full valid file, and the receivers' secrets, which are read from the
environment only when the notifier is built and never repeated in an error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.notify.endpoints import NotifierSetupError, endpoint
from llmhealth_config import ConfigError, load_config
from llmhealth_config.notifications import MaintenanceWindow, NotificationSettings, Receiver

INVALID = [
    pytest.param("""
notifications:
  receivers:
    - name: ops
      type: slack
""", "3: notifications.receivers[0]: a slack receiver needs url_env: the NAME of the variable "
     "that holds the URL to post to", id="slack-without-url-env"),
    pytest.param("""
notifications:
  receivers:
    - {name: oncall, type: pagerduty}
""", "3: notifications.receivers[0]: a pagerduty receiver needs routing_key_env: the NAME of the "
     "variable that holds the Events API v2 routing key", id="pagerduty-without-routing-key-env"),
    pytest.param("""
notifications:
  receivers:
    - name: oncall
      type: pagerduty
      routing_key_env: PD_KEY
      url_env: PD_URL
""", "3: notifications.receivers[0]: url_env is not a setting of a pagerduty receiver",
        id="setting-of-another-type"),
    pytest.param("""
notifications:
  receivers:
    - {name: ops, type: email, url_env: A}
""", "3: notifications.receivers[0].type: Input should be 'webhook', 'slack' or 'pagerduty'",
        id="type"),
    pytest.param("""
notifications:
  receivers:
    - name: ops
      type: slack
      url_env: https://hooks.slack.com/services/T0/B0/secret-part
""", "5: notifications.receivers[0].url_env: must be the NAME of an environment variable that holds "
     "the secret (e.g. OPENAI_API_KEY), not the secret itself", id="secret-pasted"),
    pytest.param("""
notifications:
  receivers:
    - {name: ops, type: webhook, url_env: A}
    - {name: ops, type: slack, url_env: B}
""", "4: notifications.receivers[1].name: receiver name 'ops' is used twice (first at line 3); "
     "names must be unique", id="duplicate-receiver"),
    pytest.param("""
notifications:
  receivers:
    - {name: ops, type: webhook, url_env: A}
  routes:
    - receivers: [ops, oncall]
""", "5: notifications.routes[0].receivers[1]: no receiver is named 'oncall' (receivers: 'ops')",
        id="route-to-unknown-receiver"),
    pytest.param("""
notifications:
  receivers:
    - {name: ops, type: webhook, url_env: A}
  routes:
    - {receivers: [ops], min_severity: error}
""", "5: notifications.routes[0].min_severity: Input should be 'info', 'warning' or 'critical'",
        id="severity"),
    pytest.param("""
notifications:
  maintenance:
    - targets: [a]
      start: 2026-12-24T22:00:00Z
      end: 2026-12-24T21:00:00Z
""", "3: notifications.maintenance[0]: end must be after start", id="maintenance-order"),
    pytest.param("""
notifications:
  maintenance:
    - targets: [a]
      start: 2026-12-24 22:00:00
      end: 2026-12-24T23:00:00Z
""", "4: notifications.maintenance[0].start: must give its time zone, e.g. 2026-12-24T22:00:00Z "
     "or 2026-12-24T23:00:00+01:00", id="maintenance-without-time-zone"),
    pytest.param("""
notifications:
  maintenance:
    - start: 2026-12-24T22:00:00Z
      end: 2026-12-24T23:00:00Z
""", "3: notifications.maintenance[0]: a maintenance window names the targets or pools it "
     "silences (targets: ['*'] silences every target)", id="maintenance-of-nothing"),
    pytest.param("""
notifications:
  maintenance:
    - targets: [a]
      start: 2026-12-24T22:00:00Z
      end: 2026-12-25T23:00:00Z
      repeat: daily
""", "3: notifications.maintenance[0]: a daily window must be shorter than its period (25 h from "
     "start to end)", id="maintenance-longer-than-its-period"),
    pytest.param("""
notifications:
  delivery: {retry_initial: 2m, retry_max: 1m}
""", "2: notifications.delivery: retry_initial (120 s) must not exceed retry_max (60 s)",
        id="retry-order"),
    pytest.param("""
notifications:
  group_windw: 10s
""", "2: unknown key 'notifications.group_windw' (check the spelling; see docs/configuration.md)",
        id="unknown-key"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_notifications_name_file_line_and_key(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text.lstrip())
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:{message}"
    assert "secret-part" not in str(info.value)


def test_a_full_configuration_loads_and_survives_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("""
notifications:
  receivers:
    - {name: hook, type: webhook, url_env: HOOK_URL, bearer_token_env: HOOK_TOKEN}
    - {name: chat, type: slack, url_env: SLACK_WEBHOOK_URL}
    - {name: oncall, type: pagerduty, routing_key_env: PD_ROUTING_KEY}
  routes:
    - {receivers: [oncall], min_severity: critical, targets: ["openai-*"], pools: [chat-models]}
    - {receivers: [chat, hook]}
  group_window: 30s
  repeat_interval: 2h
  min_repeat_interval: null
  maintenance:
    - {name: weekly upgrade, pools: [chat-models], start: 2026-12-06T02:00:00Z,
       end: 2026-12-06T03:00:00Z, repeat: weekly}
  delivery: {timeout: 5s, retry_initial: 2s, retry_max: 2m, give_up_after: 6h, queue_size: 50}
  claim_settle: 0.5
""".lstrip())
    config = load_config(path)
    n = config.notifications
    assert [r.type for r in n.receivers] == ["webhook", "slack", "pagerduty"]
    assert n.receivers[2].events_url == "https://events.pagerduty.com/v2/enqueue"
    assert (n.group_window, n.repeat_interval, n.min_repeat_interval) == (30, 7200, None)
    assert n.delivery.give_up_after == 21600 and n.maintenance[0].repeat == "weekly"
    again = type(config).model_validate(config.model_dump(mode="json"))
    assert again.notifications == n


def test_without_routes_every_receiver_hears_warnings_and_worse() -> None:
    settings = NotificationSettings(receivers=[Receiver(name="a", type="webhook", url_env="A"),
                                               Receiver(name="b", type="slack", url_env="B")])
    [route] = settings.routes_or_default()
    assert (route.receivers, route.min_severity, route.targets, route.pools) == (
        ["a", "b"], "warning", [], [])
    assert NotificationSettings().routes_or_default() == []


@pytest.mark.parametrize(("at", "covered"), [
    pytest.param(datetime(2026, 12, 6, 1, 59, tzinfo=UTC), False, id="before-the-first"),
    pytest.param(datetime(2026, 12, 6, 2, 0, tzinfo=UTC), True, id="its-start"),
    pytest.param(datetime(2026, 12, 6, 3, 0, tzinfo=UTC), False, id="its-end-is-out"),
    pytest.param(datetime(2026, 12, 13, 2, 30, tzinfo=UTC), True, id="a-week-later"),
    pytest.param(datetime(2026, 12, 7, 2, 30, tzinfo=UTC), False, id="a-day-later"),
])
def test_a_weekly_window_repeats_every_week(at: datetime, covered: bool) -> None:
    window = MaintenanceWindow(targets=["*"], start=datetime(2026, 12, 6, 2, tzinfo=UTC),
                               end=datetime(2026, 12, 6, 3, tzinfo=UTC), repeat="weekly")
    assert window.covers(at) is covered


SLACK = Receiver(name="chat", type="slack", url_env="SLACK_URL")


@pytest.mark.parametrize(("environ", "message"), [
    pytest.param({}, "notifications.receivers[2] (chat): SLACK_URL, named by url_env, is not set "
                     "or empty: set it in the aggregator's environment", id="unset"),
    pytest.param({"SLACK_URL": "  "}, "notifications.receivers[2] (chat): SLACK_URL, named by "
                 "url_env, is not set or empty: set it in the aggregator's environment", id="empty"),
    pytest.param({"SLACK_URL": "hooks.slack.com/services/T0/B0/secret-part"},
                 "notifications.receivers[2] (chat): SLACK_URL, named by url_env, does not hold "
                 "an http:// or https:// URL", id="not-a-url"),
])
def test_a_receiver_whose_variable_is_unusable_stops_the_notifier_naming_it(
        environ: dict[str, str], message: str) -> None:
    with pytest.raises(NotifierSetupError) as info:
        endpoint(SLACK, 2, environ)
    assert str(info.value) == message


def test_an_endpoint_never_shows_its_secrets() -> None:
    target = endpoint(SLACK, 0, {"SLACK_URL": "https://hooks.slack.com/services/T0/B0/secret-part"})
    assert "secret-part" not in repr(target)
    assert target.scrub("POST https://hooks.slack.com/services/T0/B0/secret-part failed") == (
        "POST <redacted> failed")
    assert target.scrub("path /services/T0/B0/secret-part") == "path <redacted>"
