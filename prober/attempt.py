"""One probe attempt: the deadline, the facts gathered on the way and the final result.

`run_attempt` is the shared call shape of every protocol module: it runs the protocol's work
under one overall deadline, turns any exception into an error type, measures the duration and
freezes what the work observed into a `ProbeResult`. It never raises (except when cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prober.outcome import OK, ProbeResult, classify_exception
from prober.ratelimit import RateLimit

DETAIL_LIMIT = 300


@dataclass
class Attempt:
    """Mutable facts a probe gathers while it runs; the work fills in what it learns."""

    started: float = field(default_factory=time.perf_counter)
    http_status: int | None = None
    status_failure: tuple[str, str] | None = None
    error_body: dict[str, object] | None = None
    streaming_started: bool = False
    stream_clean: bool | None = None
    ttft_s: float | None = None
    first_content_at: float | None = None
    last_content_at: float | None = None
    content_chunks: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    max_gap_s: float | None = None
    reported_tokens_per_s: float | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    rate_limits: tuple[RateLimit, ...] = ()
    retry_after_s: float | None = None

    def mark_content(self) -> None:
        """Record that a chunk with content arrived now."""
        now = time.perf_counter()
        if self.first_content_at is None:
            self.first_content_at = now
            self.ttft_s = now - self.started
        elif self.last_content_at is not None:
            gap = now - self.last_content_at
            self.max_gap_s = gap if self.max_gap_s is None else max(self.max_gap_s, gap)
        self.last_content_at = now
        self.content_chunks += 1

    def tokens_per_second(self) -> float | None:
        """The server's own figure when the protocol reports one (Ollama's eval rate), else
        content chunks after the first divided by the time after the first, when there were
        at least two."""
        if self.reported_tokens_per_s is not None:
            return self.reported_tokens_per_s
        if self.content_chunks < 2 or self.first_content_at is None or self.last_content_at is None:
            return None
        span = self.last_content_at - self.first_content_at
        return (self.content_chunks - 1) / span if span > 0 else None


Work = Callable[[Attempt], Awaitable[tuple[str, str]]]


async def run_attempt(
    target: str, kind: str, work: Work, *, timeout: float, secret: str | None
) -> ProbeResult:
    """Run `work` within `timeout` seconds and return its result.

    `work` returns (outcome, detail) or raises. An exception after an HTTP error status
    arrived keeps that status's error type (a 500 whose body stalls is still `http_5xx`);
    other exceptions go through `classify_exception`. `secret` is removed from the detail.
    """
    attempt = Attempt()
    try:
        async with asyncio.timeout(timeout):
            outcome, detail = await work(attempt)
    except Exception as exc:  # noqa: BLE001 - every failure must become a result
        outcome, detail = attempt.status_failure or classify_exception(
            exc, streaming_started=attempt.streaming_started
        )
        if outcome == "timeout":
            detail = f"{detail} (timeout {timeout:g}s)"
    duration = time.perf_counter() - attempt.started
    return ProbeResult(
        target=target,
        kind=kind,
        outcome=outcome,
        duration_s=duration,
        http_status=attempt.http_status,
        ttft_s=attempt.ttft_s,
        output_tokens_per_s=attempt.tokens_per_second() if outcome == OK else None,
        input_tokens=attempt.input_tokens,
        output_tokens=attempt.output_tokens,
        stream_clean=attempt.stream_clean,
        chunks=attempt.content_chunks,
        max_gap_s=attempt.max_gap_s,
        bytes_sent=attempt.bytes_sent,
        bytes_received=attempt.bytes_received,
        rate_limits=attempt.rate_limits,
        retry_after_s=attempt.retry_after_s,
        detail=redact(detail, secret)[:DETAIL_LIMIT],
    )


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by a marker."""
    return text.replace(secret, "[redacted]") if secret else text
