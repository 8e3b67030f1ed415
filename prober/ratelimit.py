"""Rate-limit headroom from response headers.

OpenAI (and Azure OpenAI, vLLM, LiteLLM …) send `x-ratelimit-{limit,remaining,reset}-{requests,
tokens}` with resets as Go-style durations (`6m0s`, `1s`, `12ms`)
(https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers). Anthropic sends
`anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
with resets as RFC 3339 instants (https://docs.anthropic.com/en/api/rate-limits#response-headers).
Both may send `retry-after` (seconds or an HTTP date) and `retry-after-ms`.
Unparseable values are skipped, never fatal: headroom is a bonus signal, not the probe's outcome.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

RESOURCES = ("requests", "tokens", "input_tokens", "output_tokens")

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RateLimit:
    """Headroom of one limited resource; a field is None when its header was absent or
    unparseable. `reset_s` is seconds from the response until the limit resets."""

    resource: str
    limit: float | None = None
    remaining: float | None = None
    reset_s: float | None = None


def parse_rate_limits(headers: Mapping[str, str], now: datetime) -> tuple[RateLimit, ...]:
    """Every resource the headers describe (OpenAI or Anthropic style), in `RESOURCES` order.
    `headers` must be case-insensitive (httpx.Headers) or lower-cased."""
    found = []
    for resource in RESOURCES:
        openai = _openai(headers, resource) if resource in ("requests", "tokens") else None
        limit = openai or _anthropic(headers, resource, now)
        if limit is not None:
            found.append(limit)
    return tuple(found)


def parse_retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (delta seconds or HTTP date),
    never negative; None when absent or unparseable."""
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration such as `6m0s`, `1h2m3.5s`, `12ms`; None when invalid."""
    text = value.strip()
    if not text:
        return None
    parts = _GO_DURATION.findall(text)
    if "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


def _openai(headers: Mapping[str, str], resource: str) -> RateLimit | None:
    limit = _number(headers.get(f"x-ratelimit-limit-{resource}"))
    remaining = _number(headers.get(f"x-ratelimit-remaining-{resource}"))
    reset_text = headers.get(f"x-ratelimit-reset-{resource}")
    reset = _go_or_seconds(reset_text) if reset_text is not None else None
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(resource, limit, remaining, reset)


def _anthropic(headers: Mapping[str, str], resource: str, now: datetime) -> RateLimit | None:
    prefix = f"anthropic-ratelimit-{resource.replace('_', '-')}"
    limit = _number(headers.get(f"{prefix}-limit"))
    remaining = _number(headers.get(f"{prefix}-remaining"))
    reset = _until(headers.get(f"{prefix}-reset"), now)
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(resource, limit, remaining, reset)


def _go_or_seconds(value: str) -> float | None:
    seconds = _number(value)
    return max(0.0, seconds) if seconds is not None else parse_go_duration(value)


def _until(value: str | None, now: datetime) -> float | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
