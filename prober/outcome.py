"""The outcome taxonomy of docs/metrics.md and the one result every probe returns.

A probe never raises: whatever happens ends in a `ProbeResult` whose `outcome` is `ok` or
exactly one of `ERROR_TYPES`. The two classifiers here are the only places that decide which
error type a failure is, so every protocol module maps failures the same way.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import httpx

from prober.ratelimit import RateLimit

OK = "ok"

ERROR_TYPES = (
    "timeout",
    "connect",
    "dns",
    "tls",
    "http_429",
    "auth",
    "http_4xx",
    "probe_rejected",
    "http_5xx",
    "stream_interrupted",
    "invalid_response",
    "empty_response",
    "context_lost",
)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe observed. `outcome` is `ok` or one of `ERROR_TYPES` (anything else is a
    ValueError). Optional fields are None when the probe did not get that far (no response,
    no first content chunk, no usage reported). `detail` is a short human reason for a
    failure and never contains credentials. `max_gap_s` is the longest pause between two
    content chunks of a stream; `chunks` counts content chunks, also those received before a
    cut. `first_byte_s` is the time from the request's start to the first byte of the
    response body and `max_silence_s` the longest silence between two reads of that body
    (None: no body byte, or it came in one piece); they set the probe bounds
    (`prober.bounds`). `rate_limits` and `retry_after_s` come from the response headers."""

    target: str
    kind: str
    outcome: str
    duration_s: float
    http_status: int | None = None
    ttft_s: float | None = None
    output_tokens_per_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    stream_clean: bool | None = None
    chunks: int = 0
    max_gap_s: float | None = None
    first_byte_s: float | None = None
    max_silence_s: float | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    rate_limits: tuple[RateLimit, ...] = ()
    retry_after_s: float | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome != OK and self.outcome not in ERROR_TYPES:
            raise ValueError(f"unknown outcome {self.outcome!r}")


class ProbeFailure(Exception):
    """Raised inside a probe for a protocol-level failure whose error type is already known
    (e.g. an oversized or malformed body); `classify_exception` passes it through unchanged."""

    def __init__(self, error_type: str, detail: str) -> None:
        super().__init__(detail)
        self.error_type = error_type
        self.detail = detail


def classify_status(code: int) -> str | None:
    """The error type of an HTTP status, or None when the status is not an error."""
    if code in (401, 403):
        return "auth"
    if code == 429:
        return "http_429"
    if 400 <= code < 500:
        return "http_4xx"
    if 500 <= code < 600:
        return "http_5xx"
    return None


def classify_exception(exc: BaseException, *, streaming_started: bool) -> tuple[str, str]:
    """Map an exception raised during a probe to (error type, human detail).

    Timeouts of any layer are `timeout`; a connect failure is `dns` or `tls` when its cause
    chain holds a resolver or TLS error, else `connect`; a connection closed or broken after a
    stream's headers arrived is `stream_interrupted`, before that `connect`. The detail names
    the exception class and, for transport errors only, its message: other exceptions may
    carry request data (header values) and are reduced to their class name.
    """
    if isinstance(exc, ProbeFailure):
        return exc.error_type, exc.detail
    if isinstance(exc, TimeoutError):
        return "timeout", "deadline exceeded"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return _classify_connect(exc)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        error_type = "stream_interrupted" if streaming_started else "connect"
        return error_type, _describe(exc)
    if isinstance(exc, httpx.DecodingError):
        return "invalid_response", "response body could not be decoded"
    if isinstance(exc, httpx.TransportError):
        return "connect", _describe(exc)
    return "connect", f"unexpected {type(exc).__name__}"


def _classify_connect(exc: httpx.ConnectError) -> tuple[str, str]:
    for cause in _cause_chain(exc):
        if isinstance(cause, socket.gaierror):
            return "dns", f"name resolution failed: {cause.strerror or cause}"
        if isinstance(cause, ssl.SSLError):
            return "tls", f"TLS handshake failed: {_ssl_reason(cause)}"
    return "connect", _describe(exc)


def _ssl_reason(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
    return str(reason) if reason else type(exc).__name__


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
