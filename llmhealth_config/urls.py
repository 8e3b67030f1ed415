"""Validation of `base_url`: refuse at load time every URL that the prober's HTTP client
(httpx) would refuse or misuse later, with a message that says what is wrong and shows a
right value. A URL never appears whole in a message: it may hold credentials.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

import httpx

_SCHEME = re.compile(r"^https?://")
_HOST_CHARS = re.compile(r"^[\w.-]+$")
EXAMPLE = "https://api.openai.com/v1"
IPV6_EXAMPLE = "http://[::1]:8000/v1"


def check_base_url(value: str) -> str:
    """`value` without a trailing `/`; ValueError naming the problem when it is not an
    http:// or https:// URL with a valid host and port and no user name or password."""
    if not _SCHEME.match(value):
        raise ValueError(f"must be an http:// or https:// URL, e.g. {EXAMPLE}")
    authority = re.split(r"[/?#]", value.split("://", 1)[1], maxsplit=1)[0]
    if "@" in authority:
        raise ValueError("must not contain a user name or password: put the API key in the "
                         "environment variable named by api_key_env (e.g. api_key_env: "
                         f"OPENAI_API_KEY) and give base_url without it, e.g. {EXAMPLE}")
    port = _check_host(authority)
    _check_port(port)
    try:
        _ = httpx.URL(value).host  # decodes the host name (IDNA), as sending a request does
    except (httpx.InvalidURL, ValueError) as exc:  # idna.IDNAError is a ValueError
        raise ValueError(f"is not a URL that the prober can request ({exc}), e.g. {EXAMPLE}")
    return value.rstrip("/")


def _check_host(authority: str) -> str | None:
    """Check the host of `authority` (`host[:port]`); return the port text (None if absent)."""
    if authority.startswith("["):
        literal, bracket, rest = authority[1:].partition("]")
        if not bracket:
            raise ValueError(f"unbalanced '[' in the host: write an IPv6 address in brackets, "
                             f"e.g. {IPV6_EXAMPLE}")
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']': only ':' and a port may follow an "
                             f"IPv6 address, e.g. {IPV6_EXAMPLE}")
        try:
            ipaddress.IPv6Address(unquote(literal))
        except ValueError:
            raise ValueError(f"invalid IPv6 address '[{literal}]': e.g. {IPV6_EXAMPLE}") from None
        return rest[1:] if rest else None
    host, colon, port = authority.partition(":")
    if not host:
        raise ValueError(f"has no host name, e.g. {EXAMPLE}")
    if "[" in host or "]" in host:
        raise ValueError(f"unbalanced ']' in the host: write an IPv6 address in brackets, "
                         f"e.g. {IPV6_EXAMPLE}")
    if not _HOST_CHARS.match(host):
        raise ValueError(f"invalid host {host!r}: a host name has only letters, digits, '.', '-' "
                         f"and '_', e.g. {EXAMPLE}")
    return port if colon else None


def _check_port(port: str | None) -> None:
    """An empty port (`host:`) means the scheme's, as in every HTTP client."""
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"invalid port {port!r}: use a number from 1 to 65535, "
                         "e.g. http://localhost:8000/v1")
