"""The outcome classifiers and the SSE decoder, without a network."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from prober.outcome import ProbeFailure, ProbeResult, classify_exception, classify_status
from prober.sse import iter_sse_data


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (200, None), (204, None), (301, None), (400, "http_4xx"), (401, "auth"), (403, "auth"),
        (404, "http_4xx"), (429, "http_429"), (499, "http_4xx"), (500, "http_5xx"),
        (503, "http_5xx"),
    ],
)  # fmt: skip
def test_classify_status(code: int, error_type: str | None) -> None:
    assert classify_status(code) == error_type


def chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "started", "error_type"),
    [
        pytest.param(TimeoutError(), False, "timeout", id="deadline"),
        pytest.param(httpx.ReadTimeout("x"), True, "timeout", id="read-timeout"),
        pytest.param(httpx.ConnectTimeout("x"), False, "timeout", id="connect-timeout"),
        pytest.param(httpx.ConnectError("refused"), False, "connect", id="refused"),
        pytest.param(
            chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            False,
            "dns",
            id="dns",
        ),
        pytest.param(
            chained(httpx.ConnectError("x"), chained(OSError(), ssl.SSLCertVerificationError())),
            False,
            "tls",
            id="tls-cert-deep-in-chain",
        ),
        pytest.param(httpx.RemoteProtocolError("closed"), False, "connect", id="closed-before"),
        pytest.param(httpx.RemoteProtocolError("closed"), True, "stream_interrupted", id="closed"),
        pytest.param(httpx.ReadError("reset"), True, "stream_interrupted", id="reset"),
        pytest.param(ProbeFailure("empty_response", "none"), True, "empty_response", id="known"),
        pytest.param(httpx.LocalProtocolError("Illegal header value b'sk-1'"), False, "connect"),
    ],
)
def test_classify_exception(exc: Exception, started: bool, error_type: str) -> None:
    assert classify_exception(exc, streaming_started=started)[0] == error_type


def test_detail_of_unexpected_exceptions_omits_their_message() -> None:
    exc = ValueError("Bearer sk-test-SECRET123")
    assert classify_exception(exc, streaming_started=False) == ("connect", "unexpected ValueError")


def test_result_rejects_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        ProbeResult(target="t", kind="completion", outcome="boom", duration_s=0.1)


async def decode(*chunks: bytes) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [data async for data in iter_sse_data(source())]


@pytest.mark.parametrize(
    ("chunks", "events"),
    [
        pytest.param([b"data: a\n\ndata: b\n\n"], ["a", "b"], id="two-events"),
        pytest.param([b"da", b"ta: a", b"\r\n\r", b"\n"], ["a"], id="split-crlf"),
        pytest.param([b": comment\nevent: x\nid: 1\ndata:a\n\n"], ["a"], id="other-fields"),
        pytest.param([b"data: a\ndata: b\n\n"], ["a\nb"], id="multi-line"),
        pytest.param([b"data: a\n\n\n\ndata: [DONE]"], ["a", "[DONE]"], id="unterminated-last"),
        pytest.param([b"not sse at all"], [], id="no-data"),
    ],
)
def test_sse_decoding(chunks: list[bytes], events: list[str]) -> None:
    assert asyncio.run(decode(*chunks)) == events


def test_sse_rejects_non_utf8() -> None:
    with pytest.raises(ProbeFailure) as failure:
        asyncio.run(decode(b"data: \xff\n\n"))
    assert failure.value.error_type == "invalid_response"
