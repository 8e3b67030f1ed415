"""The internal liveness probe: which request each protocol gets, the connection check over
real HTTP, and an Azure target watched by it while its chat probes back off."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober import anthropic, ollama, openai
from prober.context import ProbeContext
from prober.liveness import liveness_probe, probe_connection
from tests.unit.raw_http import FakeServer, Script, headers_of
from tests.unit.recorded_loop import Loop

SECRET = "sk-test-SECRET123"


@pytest.mark.parametrize(("protocol", "kind", "probe"), [
    pytest.param("openai", "models", openai.probe_models, id="openai"),
    pytest.param("anthropic", "models", anthropic.probe_models, id="anthropic"),
    pytest.param("ollama", "models", ollama.probe_models, id="ollama"),
    pytest.param("azure", "connection", probe_connection, id="azure"),
])
def test_liveness_probe_per_protocol(protocol: str, kind: str, probe: object) -> None:
    target = Target(name="t", protocol=protocol, base_url="https://x.example", model="m",
                    api_version="2024-10-21")
    assert liveness_probe(target) == (kind, probe)


def status(code: int) -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n".encode())

    return script


async def check(base_url: str) -> object:
    target = Target(name="t", protocol="azure", base_url=base_url, model="dep",
                    api_version="2024-10-21", api_key_env="AZURE_KEY")
    async with httpx.AsyncClient() as http:
        return await probe_connection(ProbeContext(http, target, api_key=SECRET, timeout=2.0,
                                                   max_body_bytes=1024))


@pytest.mark.parametrize(("code", "outcome"), [
    pytest.param(200, "ok", id="200"),
    pytest.param(401, "ok", id="401-the-server-answers"),
    pytest.param(404, "ok", id="404-the-server-answers"),
    pytest.param(503, "http_5xx", id="503"),
])
def test_connection_check(code: int, outcome: str) -> None:
    async def scenario() -> tuple[object, list]:
        async with FakeServer(status(code)) as server:
            result = await check(f"http://127.0.0.1:{server.port}")
            return result, server.requests

    result, requests = asyncio.run(scenario())
    assert (result.kind, result.outcome, result.http_status) == ("connection", outcome, code)
    [(head, _body)] = requests
    assert head.startswith(b"GET / HTTP/1.1")
    assert "api-key" not in headers_of(head) and SECRET.encode() not in head


def test_connection_check_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = asyncio.run(check(f"http://127.0.0.1:{port}"))
    assert result.outcome == "connect"


def test_an_azure_target_is_watched_by_a_connection_check() -> None:
    """Chat answers 429 (a failure that backs off) and the resource root 404: the chat kinds
    back off, the connection check runs at the interval, succeeds (the server answers) and
    wakes nothing."""
    arrivals: list[tuple[float, str]] = []

    async def script(server: FakeServer, reader, writer) -> None:
        head, _ = await server.read_request(reader)
        path = head.split(b" ")[1].decode()
        arrivals.append((time.monotonic(), path))
        code = 404 if path == "/" else 429
        await server.send(writer, f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n".encode())

    async def scenario() -> Loop:
        async with FakeServer(script) as server:
            config = Config.model_validate({
                "targets": [{"name": "az", "protocol": "azure", "base_url":
                             f"http://127.0.0.1:{server.port}", "model": "dep",
                             "api_version": "2024-10-21", "interval": 0.1,
                             "allow_fast_interval": True, "timeout": 2}],
                "prober": {"backoff_after": 2, "backoff_max": "20s", "confirm_delay": "50ms"}})
            loop = Loop(config)
            await asyncio.sleep(2.0)
            await loop.stop()
            return loop

    loop = asyncio.run(scenario())
    liveness = [r for _, r in loop.telemetry.liveness]
    assert len(liveness) >= 10 and {(r.kind, r.outcome) for r in liveness} == {("connection", "ok")}
    chat = [path for _, path in arrivals if path != "/"]
    assert 4 <= len(chat) <= 16, len(chat)  # 2 kinds: 2 confirmed failures, then backoff
    assert {r.kind for r in loop.results()} == {"completion", "stream"}
