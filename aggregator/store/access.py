"""Who may use the embedded store's HTTP endpoint: no web browser, and only with a password.

Browsers are refused whatever the credentials (any `Origin` or `Sec-Fetch-*` header: a web
page's cross-site request, or a page loaded from the store's own address), and so is a `Host`
that is not the address the store listens on (DNS rebinding). Then a user authenticates as with
ClickHouse over HTTP: HTTP basic auth, the `X-ClickHouse-User`/`X-ClickHouse-Key` headers, or
the `user`/`password` URL parameters; no user means `default`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from aggregator.store.base import StoreError
from llmhealth_config.model import StoreSettings

ACCESS_DENIED = 497
AUTHENTICATION_FAILED = 516
BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest")
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class Denied(Exception):
    """The request is refused before any SQL runs; `code` is ClickHouse's error code."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: StoreSettings, environ: Mapping[str, str]) -> str | None:
    """None when the endpoint listens on loopback only; a warning naming the risk when it
    listens beyond and a password is set; StoreError when it would listen beyond without one."""
    if is_loopback(settings.http_host):
        return None
    if not environ.get(settings.password_env):
        raise StoreError(f"store.http_host {settings.http_host} lets other machines reach the embedded "
                         f"store: set a password in {settings.password_env} (store.password_env) "
                         "first, or keep store.http_host 127.0.0.1")
    return (f"the embedded store listens on {settings.http_host}:{settings.http_port}, beyond this "
            "machine: anyone who reaches that port and knows the password can read every table "
            "(and, as user default, write); its HTTP is not encrypted, so keep it behind a firewall "
            "or a TLS proxy")


def _host_name(header: str) -> str:
    """The host of a Host header, without port or IPv6 brackets, lower-cased."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0].lower()
    return header.rsplit(":", 1)[0].lower() if header.count(":") == 1 else header.lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Access:
    """The endpoint's users and the host names it answers to."""

    passwords: Mapping[str, str]
    host_names: frozenset[str]
    any_ip: bool

    @classmethod
    def for_settings(cls, settings: StoreSettings, passwords: Mapping[str, str]) -> Access:
        bound = settings.http_host.strip("[]").lower()
        names = {bound, *_LOOPBACK_NAMES, *(h.strip("[]").lower() for h in settings.http_allowed_hosts)}
        wildcard = bound in _WILDCARDS
        if wildcard:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        return cls(dict(passwords), frozenset(names), wildcard)

    def admit(self, headers: Mapping[str, str]) -> None:
        """Raise Denied for a browser's request or a foreign Host header."""
        for name in BROWSER_HEADERS:
            if name in headers:
                raise Denied(ACCESS_DENIED, f"requests from web browsers ({name} header) are refused "
                                            "by the embedded store: query it with curl, "
                                            "`llmhealth status` or Grafana's server-side datasource")
        host = headers.get("host")
        if host is None:
            return
        name = _host_name(host)
        if name in self.host_names or (self.any_ip and _is_ip(name)):
            return
        raise Denied(ACCESS_DENIED, f"Host {host[:100]!r} is not this store's address; if you reach "
                                    "the store through that name, add it to store.http_allowed_hosts")

    def authenticate(self, headers: Mapping[str, str], query: dict[str, str]) -> str:
        """The user the request authenticates as; removes `user`/`password` from `query`."""
        user, password = self._credentials(headers, query)
        expected = self.passwords.get(user)
        if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
            return user
        raise Denied(AUTHENTICATION_FAILED,
                     f"{user[:64]}: Authentication failed: password is incorrect, or there is no user "
                     "with such name; the embedded store has users default and reader, with the "
                     "password in the environment variable named by store.password_env or in the "
                     "data dir's store.password file")

    @staticmethod
    def _credentials(headers: Mapping[str, str], query: dict[str, str]) -> tuple[str, str]:
        in_query = (query.pop("user", None), query.pop("password", None))
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise Denied(AUTHENTICATION_FAILED, "only HTTP basic authentication is supported")
            try:
                user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise Denied(AUTHENTICATION_FAILED, "malformed basic authentication header") from None
            return user or "default", password
        if "x-clickhouse-user" in headers or "x-clickhouse-key" in headers:
            return headers.get("x-clickhouse-user") or "default", headers.get("x-clickhouse-key", "")
        return in_query[0] or "default", in_query[1] or ""
