"""Receivers as the delivery threads use them: where to POST, with which headers and body,
and the secrets to keep out of every log line, row and error text.

Secrets come only from the environment variables the configuration names (`url_env`,
`routing_key_env`, `bearer_token_env`). They are read once, when the notifier is built; a
variable that is unset, empty or (for a URL) not an http(s) URL is an error that names the
variable and never repeats its value.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.notify import pagerduty, slack, webhook
from aggregator.notify.compose import Message
from llmhealth_config.notifications import Receiver

REDACTED = "<redacted>"


class NotifierSetupError(ValueError):
    """A receiver cannot be used as configured (its variable is unset or holds no URL)."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    type: str
    url: str
    body: Callable[[Message], dict]
    headers: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the URL or a key
        return f"Endpoint({self.name!r}, {self.type})"

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret (and a URL's path and query, which hold a webhook's token)
    replaced by <redacted>, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _variable(receiver: Receiver, key: str, environ: Mapping[str, str], index: int) -> str:
    name = getattr(receiver, key)
    value = environ.get(name, "").strip()
    if not value:
        raise NotifierSetupError(
            f"notifications.receivers[{index}] ({receiver.name}): {name}, named by {key}, is not "
            "set or empty: set it in the aggregator's environment")
    return value


def _url(receiver: Receiver, environ: Mapping[str, str], index: int) -> tuple[str, tuple[str, ...]]:
    value = _variable(receiver, "url_env", environ, index)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifierSetupError(
            f"notifications.receivers[{index}] ({receiver.name}): {receiver.url_env}, named by "
            "url_env, does not hold an http:// or https:// URL")
    hidden = tuple(p for p in (parts.path, parts.query, parts.username, parts.password)
                   if p and p != "/")
    return value, (value, *hidden)


def endpoint(receiver: Receiver, index: int, environ: Mapping[str, str] = os.environ) -> Endpoint:
    """The endpoint of `receiver` (`index` is its position in notifications.receivers)."""
    if receiver.type == "pagerduty":
        key = _variable(receiver, "routing_key_env", environ, index)
        return Endpoint(receiver.name, "pagerduty", receiver.events_url,
                        lambda message: pagerduty.body(message, key), secrets=(key,))
    url, secrets = _url(receiver, environ, index)
    if receiver.type == "slack":
        return Endpoint(receiver.name, "slack", url, slack.body, secrets=secrets)
    headers = {}
    if receiver.bearer_token_env:
        token = _variable(receiver, "bearer_token_env", environ, index)
        headers["Authorization"] = f"Bearer {token}"
        secrets += (token,)
    return Endpoint(receiver.name, "webhook", url, webhook.body, headers, secrets)


class Redact(logging.Filter):
    """Removes the notifier's secrets from records of the HTTP client's loggers (httpx logs
    each request's URL at INFO, and a webhook's URL is its secret)."""

    def __init__(self) -> None:
        super().__init__("llmhealth.notify.redact")
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secrets: tuple[str, ...]) -> None:
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | set(secrets)))

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if secrets:
            message = record.getMessage()
            cleaned = scrub(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


REDACT = Redact()
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
                "httpcore.proxy", "httpcore.socks")
"""A logger's filters see only the records logged on it, not its children's: each is named."""


def guard_http_logs(secrets: tuple[str, ...]) -> None:
    """Install the redaction filter on the HTTP client's loggers (once) with `secrets`."""
    REDACT.add(secrets)
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if REDACT not in logger.filters:
            logger.addFilter(REDACT)
