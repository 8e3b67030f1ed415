"""One probe attempt: the deadlines, the facts gathered on the way and the final result.

`run_attempt` is the shared call shape of every protocol module: it runs the protocol's work
under one overall deadline and the probe's bounds (`prober.bounds`: first byte, gap between
body reads), turns any exception into an error type, measures the duration and freezes what
the work observed into a `ProbeResult`. It never raises (except when cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from prober.bounds import NO_BOUNDS, Bounds
from prober.outcome import OK, ProbeResult, classify_exception
from prober.ratelimit import RateLimit
from prober.silence import SilenceWatch

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
    first_byte_s: float | None = None
    max_silence_s: float | None = None
    last_byte_at: float | None = None
    watch: SilenceWatch | None = field(default=None, repr=False)

    def mark_body_bytes(self) -> None:
        """Record that body bytes arrived now, for the bounds' history and their watch."""
        now = time.perf_counter()
        if self.first_byte_s is None:
            self.first_byte_s = now - self.started
        elif self.last_byte_at is not None:
            self.max_silence_s = max(self.max_silence_s or 0.0, now - self.last_byte_at)
        self.last_byte_at = now
        if self.watch is not None:
            self.watch.heard()

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

WATCH: ContextVar[Callable[[Attempt], None] | None] = ContextVar("llmhealth_attempt_watch",
                                                                default=None)
"""Called with each `Attempt` that `run_attempt` starts in this context, so that what runs the
probe can read its bytes while it runs (`prober.activity`); unset, nothing is called."""


async def run_attempt(
    target: str,
    kind: str,
    work: Work,
    *,
    timeout: float,
    secret: str | None,
    bounds: Bounds | None = None,
) -> ProbeResult:
    """Run `work` within `timeout` seconds and `bounds` and return its result.

    `work` returns (outcome, detail) or raises. A probe whose body's first byte does not
    arrive within `bounds.first_byte` seconds of its start, or whose body then stays silent
    for `bounds.gap` seconds (body reads go through `prober.body`, which marks them), is cut
    (`prober.silence`): its outcome is `timeout` and its duration the time until the cut. An
    exception after an
    HTTP error status arrived keeps that status's error type (a 500 whose body stalls is
    still `http_5xx`); other exceptions go through `classify_exception`. `secret` is removed
    from the detail.
    """
    bounds = bounds or NO_BOUNDS
    attempt = Attempt()
    if (watch := WATCH.get()) is not None:
        watch(attempt)
    silence: asyncio.Timeout | None = None
    try:
        async with asyncio.timeout(timeout), asyncio.timeout(None) as silence:
            attempt.watch = SilenceWatch(silence, bounds)
            try:
                outcome, detail = await work(attempt)
            finally:
                attempt.watch.close()
    except Exception as exc:  # noqa: BLE001 - every failure must become a result
        outcome, detail = attempt.status_failure or classify_exception(
            exc, streaming_started=attempt.streaming_started
        )
        if outcome == "timeout":
            cut = silence is not None and silence.expired()
            detail = _timeout_detail(attempt, detail, bounds, timeout, cut=cut)
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
        first_byte_s=attempt.first_byte_s,
        max_silence_s=attempt.max_silence_s,
        bytes_sent=attempt.bytes_sent,
        bytes_received=attempt.bytes_received,
        rate_limits=attempt.rate_limits,
        retry_after_s=attempt.retry_after_s,
        detail=redact(detail, secret)[:DETAIL_LIMIT],
    )


def _timeout_detail(attempt: Attempt, detail: str, bounds: Bounds, timeout: float, *,
                    cut: bool) -> str:
    if not cut:
        return f"{detail} (timeout {timeout:g}s)"
    if attempt.first_byte_s is None:
        return (f"no response byte within {bounds.first_byte:g}s "
                f"(first-byte bound; timeout {timeout:g}s)")
    return (f"response silent for {bounds.gap:g}s after {attempt.first_byte_s:.2f}s "
            f"(gap bound; timeout {timeout:g}s)")


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by a marker."""
    return text.replace(secret, "[redacted]") if secret else text
