"""Transport failures of both probe kinds against real sockets: refused, DNS, TLS."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import httpx
import pytest

from llmhealth_config.target import Target
from prober.context import ProbeContext
from prober.openai import PROBES
from prober.outcome import ProbeResult


async def run_probe(kind: str, base_url: str) -> ProbeResult:
    target = Target(name="t1", base_url=base_url, model="m")
    async with httpx.AsyncClient(http2=True) as client:
        ctx = ProbeContext(client, target, api_key="sk-test-SECRET123", timeout=2.0,
                           max_body_bytes=1_048_576, stream_max_tokens=8)
        return await PROBES[kind](ctx)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def against_plain_http(kind: str) -> ProbeResult:
    """Probe an https:// URL whose server answers the TLS ClientHello in plain HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        return await run_probe(kind, f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1")


@pytest.mark.parametrize("kind", ["completion", "stream"])
@pytest.mark.parametrize(
    ("base_url", "outcome"),
    [
        pytest.param(lambda: f"http://127.0.0.1:{closed_port()}/v1", "connect", id="refused"),
        pytest.param(lambda: "http://nonexistent.invalid/v1", "dns", id="dns"),
    ],
)
def test_connection_failures(kind: str, base_url: Callable[[], str], outcome: str) -> None:
    result = asyncio.run(run_probe(kind, base_url()))
    assert (result.outcome, result.http_status, result.stream_clean) == (outcome, None, None)
    assert result.detail and "SECRET" not in result.detail


@pytest.mark.parametrize("kind", ["completion", "stream"])
def test_tls_failure(kind: str) -> None:
    result = asyncio.run(against_plain_http(kind))
    assert result.outcome == "tls", result.detail
    assert result.detail.startswith("TLS handshake failed")
