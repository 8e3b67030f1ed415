"""Validation of `store.url`: which store the parts use and how they reach it.

`http://` and `https://` reach the ClickHouse HTTP interface (a server's, or the embedded
store's endpoint), `clickhouse://` a server's native protocol. The URL names the user; the
password never goes in it (it is read from the variable named by `store.password_env`), and
a URL is never shown whole in a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 8123, "https": 8443, "clickhouse": 9000}
EXAMPLE = "http://default@clickhouse:8123/ or clickhouse://default@clickhouse:9000/"


@dataclass(frozen=True)
class StoreUrl:
    scheme: str
    host: str
    port: int
    user: str

    @property
    def endpoint(self) -> str:
        """The URL without the user: what a client connects to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"

    @property
    def safe(self) -> str:
        """For messages: scheme, user, host and port (no password can be in it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{self.user}@{host}:{self.port}/"


def parse_store_url(value: str) -> StoreUrl:
    """ValueError naming the problem (without echoing the URL) when `value` is not a store URL."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in DEFAULT_PORTS:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ValueError(f"has {shown}: use http://, https:// (ClickHouse HTTP interface) or "
                         f"clickhouse:// (native protocol), e.g. {EXAMPLE}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc}), e.g. {EXAMPLE}") from None
    if parts.password is not None:
        raise ValueError("must not contain a password: put it in the environment variable named "
                         "by store.password_env (LLMHEALTH_STORE_PASSWORD by default) and give "
                         f"the URL with the user only, e.g. {EXAMPLE}")
    if not parts.hostname:
        raise ValueError(f"has no host name, e.g. {EXAMPLE}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must end after the port (the database is store.database, settings are "
                         f"not taken from the URL), e.g. {EXAMPLE}")
    return StoreUrl(scheme, parts.hostname, port or DEFAULT_PORTS[scheme],
                    unquote(parts.username) if parts.username else "default")


def check_store_url(value: str) -> str:
    parse_store_url(value)
    return value
