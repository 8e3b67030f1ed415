"""Rate-limit headroom and retry-after from response headers (`prober.ratelimit`)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from prober.ratelimit import RateLimit, parse_go_duration, parse_rate_limits, parse_retry_after

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("6m0s", 360.0, id="minutes-seconds"),
    pytest.param("1s", 1.0, id="seconds"),
    pytest.param("12ms", 0.012, id="milliseconds"),
    pytest.param("1h2m3.5s", 3723.5, id="hours-minutes-fractional-seconds"),
    pytest.param("0s", 0.0, id="zero"),
    pytest.param("250us", 0.00025, id="microseconds"),
    pytest.param(" 1s ", 1.0, id="surrounding-space"),
    pytest.param("5x", None, id="unknown-unit"),
    pytest.param("", None, id="empty"),
    pytest.param("6m0", None, id="trailing-number"),
    pytest.param("1s garbage", None, id="trailing-text"),
    pytest.param("-1s", None, id="negative"),
])
def test_parse_go_duration(text: str, seconds: float | None) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


# Header names and example values from https://platform.openai.com/docs/guides/rate-limits
# ("Rate limits in headers").
OPENAI_HEADERS = {
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-requests": "59",
    "x-ratelimit-remaining-tokens": "149984",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-reset-tokens": "6m0s",
}

# Header names from https://docs.anthropic.com/en/api/rate-limits ("Response headers"); the
# resets are RFC 3339 instants.
ANTHROPIC_HEADERS = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2025-06-01T12:00:01Z",
    "anthropic-ratelimit-tokens-limit": "90000",
    "anthropic-ratelimit-tokens-remaining": "89000",
    "anthropic-ratelimit-tokens-reset": "2025-06-01T12:00:30.5Z",
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "79990",
    "anthropic-ratelimit-input-tokens-reset": "2025-06-01T14:00:00+02:00",
    "anthropic-ratelimit-output-tokens-limit": "16000",
    "anthropic-ratelimit-output-tokens-remaining": "15990",
    "anthropic-ratelimit-output-tokens-reset": "2025-06-01T12:00:06Z",
}


def headers(pairs: dict[str, str], *, title_case: bool = False) -> httpx.Headers:
    """Header names as servers may spell them: `title_case` writes X-Ratelimit-Limit-Requests."""
    return httpx.Headers({(k.title() if title_case else k): v for k, v in pairs.items()})


@pytest.mark.parametrize(("pairs", "expected"), [
    pytest.param(OPENAI_HEADERS, (
        RateLimit("requests", 60, 59, 1.0),
        RateLimit("tokens", 150_000, 149_984, 360.0),
    ), id="openai"),
    pytest.param(ANTHROPIC_HEADERS, (
        RateLimit("requests", 50, 49, 1.0),
        RateLimit("tokens", 90_000, 89_000, 30.5),
        RateLimit("input_tokens", 80_000, 79_990, 0.0),  # 12:00 UTC: resets right now
        RateLimit("output_tokens", 16_000, 15_990, 6.0),
    ), id="anthropic"),
    pytest.param({}, (), id="none"),
    pytest.param({"content-type": "application/json"}, (), id="unrelated-only"),
    pytest.param({"x-ratelimit-remaining-tokens": "100"}, (
        RateLimit("tokens", None, 100, None),
    ), id="openai-partial"),
    pytest.param({"x-ratelimit-reset-requests": "20"}, (
        RateLimit("requests", None, None, 20.0),
    ), id="openai-reset-plain-seconds"),
    pytest.param({
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "soon",
        "x-ratelimit-limit-tokens": "nan",
    }, (
        RateLimit("requests", None, 59, None),
    ), id="openai-garbage-skipped"),
    pytest.param({
        "x-ratelimit-limit-tokens": "inf",
        "x-ratelimit-reset-tokens": "5x",
    }, (), id="openai-all-garbage"),
    pytest.param({
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "tomorrow",
        "anthropic-ratelimit-tokens-limit": "",
        "anthropic-ratelimit-tokens-reset": "2025-06-01T11:59:00Z",
    }, (
        RateLimit("requests", None, 0, None),
        RateLimit("tokens", None, None, 0.0),  # a reset in the past is no wait
    ), id="anthropic-partial-garbage-and-past"),
    pytest.param({"anthropic-ratelimit-output-tokens-reset": "2025-06-01T12:01:00"}, (
        RateLimit("output_tokens", None, None, 60.0),  # no offset: read as UTC
    ), id="anthropic-reset-without-offset"),
])
def test_parse_rate_limits(pairs: dict[str, str], expected: tuple[RateLimit, ...]) -> None:
    assert parse_rate_limits(headers(pairs), NOW) == expected
    assert parse_rate_limits(headers(pairs, title_case=True), NOW) == expected


def test_openai_headers_win_over_anthropic_for_the_same_resource() -> None:
    both = headers({**ANTHROPIC_HEADERS, **OPENAI_HEADERS})
    limits = {limit.resource: limit for limit in parse_rate_limits(both, NOW)}
    assert limits["requests"] == RateLimit("requests", 60, 59, 1.0)
    assert limits["input_tokens"].limit == 80_000


@pytest.mark.parametrize(("pairs", "seconds"), [
    pytest.param({"retry-after": "20"}, 20.0, id="delta-seconds"),
    pytest.param({"Retry-After": "1.5"}, 1.5, id="fractional-seconds"),
    pytest.param({"retry-after": "Sun, 01 Jun 2025 12:00:30 GMT"}, 30.0, id="http-date"),
    pytest.param({"retry-after": "Sun, 01 Jun 2025 11:59:00 GMT"}, 0.0, id="http-date-past"),
    pytest.param({"retry-after": "-5"}, 0.0, id="negative-seconds"),
    pytest.param({"retry-after": "20", "retry-after-ms": "1500"}, 1.5, id="ms-takes-precedence"),
    pytest.param({"retry-after-ms": "250"}, 0.25, id="ms-only"),
    pytest.param({"retry-after": "20", "retry-after-ms": "soon"}, 20.0, id="garbage-ms-falls-back"),
    pytest.param({"retry-after": "soon"}, None, id="garbage"),
    pytest.param({"retry-after": ""}, None, id="empty"),
    pytest.param({"retry-after": "nan"}, None, id="nan"),
    pytest.param({"retry-after": "Sun, 99 Jun 2025 12:00:30 GMT"}, None, id="impossible-date"),
    pytest.param({}, None, id="absent"),
])
def test_parse_retry_after(pairs: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(httpx.Headers(pairs), NOW) == seconds
