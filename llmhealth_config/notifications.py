"""Settings of the built-in notifier (docs/notifications.md): receivers, routes, grouping,
reminders, maintenance windows and delivery.

Secrets (webhook URLs, PagerDuty routing keys, bearer tokens) are never values here: a
receiver names the environment variable that holds each one (`url_env`, `routing_key_env`,
`bearer_token_env`), read by the aggregator when its notifier is built.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from llmhealth_config.errors import rule_error
from llmhealth_config.types import NAME_PATTERN, EnvName, Seconds, Strict

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
STATUS_SEVERITY = {"unhealthy": "critical", "rate_limited": "warning", "degraded": "warning",
                   "unknown": "info"}
"""The statuses that open an alert, and the severity of each; `healthy` closes it."""

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
REPEATS = {"none": None, "daily": timedelta(days=1), "weekly": timedelta(days=7)}
Pattern = Annotated[str, Field(min_length=1, max_length=256)]
"""A target name or a shell-style pattern of names (`openai-*`, `laptop/*`)."""
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


def _events_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL, e.g. {PAGERDUTY_EVENTS_URL}")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password: the routing key goes in the "
                         "variable named by routing_key_env")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must give its time zone, e.g. 2026-12-24T22:00:00Z or "
                         "2026-12-24T23:00:00+01:00")
    return value


Instant = Annotated[datetime, AfterValidator(_aware)]


class Receiver(Strict):
    """Where messages go. `webhook` and `slack` post to the URL held by the variable `url_env`
    (a Slack incoming webhook for `slack`); `pagerduty` sends Events API v2 events with the
    routing key held by `routing_key_env` to `url`."""

    name: Name
    type: Literal["webhook", "slack", "pagerduty"]
    url_env: EnvName | None = None
    bearer_token_env: EnvName | None = None
    routing_key_env: EnvName | None = None
    url: Annotated[str, AfterValidator(_events_url)] | None = None

    @model_validator(mode="after")
    def _keys_of_its_type(self) -> Receiver:
        if self.type == "pagerduty":
            if self.routing_key_env is None:
                raise ValueError("a pagerduty receiver needs routing_key_env: the NAME of the "
                                 "variable that holds the Events API v2 routing key")
            wrong = [k for k in ("url_env", "bearer_token_env") if getattr(self, k) is not None]
        else:
            if self.url_env is None:
                raise ValueError(f"a {self.type} receiver needs url_env: the NAME of the variable "
                                 "that holds the URL to post to")
            wrong = [k for k in ("routing_key_env", "url") if getattr(self, k) is not None]
            if self.type == "slack" and self.bearer_token_env is not None:
                wrong.append("bearer_token_env")
        if wrong:
            raise ValueError(f"{', '.join(wrong)} is not a setting of a {self.type} receiver")
        return self

    @property
    def events_url(self) -> str:
        return self.url or PAGERDUTY_EVENTS_URL


class Route(Strict):
    """Which alerts go to which receivers: those of targets matching one of `targets` or in one
    of `pools` (every target when both are empty), of `min_severity` or above."""

    receivers: Annotated[list[Name], Field(min_length=1)]
    targets: list[Pattern] = []
    pools: list[Name] = []
    min_severity: Severity = "warning"


class MaintenanceWindow(Strict):
    """From `start` to `end` (and again every day or week with `repeat`), no trigger or
    reminder is sent for the targets matching `targets` or in `pools`."""

    name: str = ""
    targets: list[Pattern] = []
    pools: list[Name] = []
    start: Instant
    end: Instant
    repeat: Literal["none", "daily", "weekly"] = "none"

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if not self.targets and not self.pools:
            raise ValueError("a maintenance window names the targets or pools it silences "
                             "(targets: ['*'] silences every target)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        period = REPEATS[self.repeat]
        if period is not None and self.end - self.start >= period:
            hours = (self.end - self.start).total_seconds() / 3600
            raise ValueError(f"a {self.repeat} window must be shorter than its period "
                             f"({hours:g} h from start to end)")
        return self

    def covers(self, at: datetime) -> bool:
        """Whether instant `at` lies in the window (or one of its repetitions)."""
        period = REPEATS[self.repeat]
        if period is None or at < self.start:
            return self.start <= at < self.end
        offset = (at - self.start) % period
        return offset < self.end - self.start


class DeliverySettings(Strict):
    """How messages are sent: a queue per receiver, each message retried with exponential
    backoff (`retry_initial`, doubling up to `retry_max`) until `give_up_after` after it was
    queued."""

    timeout: Seconds = 10.0
    retry_initial: Seconds = 1.0
    retry_max: Seconds = 60.0
    give_up_after: Seconds = 3600.0
    queue_size: Annotated[int, Field(ge=1, le=100_000)] = 1000

    @model_validator(mode="after")
    def _ordered(self) -> DeliverySettings:
        if self.retry_initial > self.retry_max:
            raise ValueError(f"retry_initial ({self.retry_initial:g} s) must not exceed retry_max "
                             f"({self.retry_max:g} s)")
        return self


class NotificationSettings(Strict):
    receivers: list[Receiver] = []
    routes: list[Route] = []
    group_window: Seconds = 10.0
    repeat_interval: Seconds | None = 14400.0
    min_repeat_interval: Seconds | None = 300.0
    maintenance: list[MaintenanceWindow] = []
    delivery: DeliverySettings = DeliverySettings()
    claim_settle: Annotated[float, Field(ge=0, le=30)] = 1.0

    @model_validator(mode="after")
    def _receivers_named_once_and_routed(self) -> NotificationSettings:
        first: dict[str, int] = {}
        for index, receiver in enumerate(self.receivers):
            if receiver.name in first:
                raise rule_error(f"receiver name {receiver.name!r} is used twice (first at "
                                 "{first}); names must be unique", at=("receivers", index, "name"),
                                 first=("receivers", first[receiver.name], "name"))
            first[receiver.name] = index
        for index, route in enumerate(self.routes):
            for position, name in enumerate(route.receivers):
                if name not in first:
                    known = ", ".join(map(repr, first)) or "none"
                    raise rule_error(f"no receiver is named {name!r} (receivers: {known})",
                                     at=("routes", index, "receivers", position))
        return self

    def routes_or_default(self) -> list[Route]:
        """The routes; without any, one route to every receiver (min_severity warning)."""
        if self.routes or not self.receivers:
            return list(self.routes)
        return [Route(receivers=[r.name for r in self.receivers])]
