"""The custom HTTP check probe (protocol `http`) against real local HTTP servers.

Each server is a raw HTTP/1.1 responder on 127.0.0.1 with an ephemeral port (`raw_http`), so
the status, headers and every body byte are under the test's control.
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from llmhealth_config.target import Target
from prober.context import ProbeContext
from prober.http_check import PROBES
from prober.outcome import ProbeResult
from tests.unit.raw_http import FakeServer, Script, headers_of, huge_body, silent

TIMEOUT = 1.0
MAX_BODY = 65_536
SECRET = "sk-test-SECRET123"
INVALID = "invalid_response"


def respond(status: int, body: bytes = b"", *, headers: str = "") -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
        await server.send(writer, head.encode() + body)

    return script


def as_json(status: int, document: object) -> Script:
    return respond(status, json.dumps(document).encode(), headers="Content-Type: application/json\r\n")


def head_only(status: int, declared: int) -> Script:
    """A HEAD answer: headers announcing `declared` body bytes, no body (RFC 9110 9.3.2)."""

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, f"HTTP/1.1 {status} OK\r\nContent-Length: {declared}\r\n\r\n".encode())

    return script




def http_target(url: str, **check: object) -> Target:
    return Target.model_validate(
        {"name": "gw", "protocol": "http", "base_url": url, "check": check or None}
    )


async def run_check(url: str, check: dict[str, object], api_key: str | None) -> ProbeResult:
    async with httpx.AsyncClient(http2=True, follow_redirects=False) as client:
        ctx = ProbeContext(client, http_target(url, **check), api_key=api_key, timeout=TIMEOUT,
                           max_body_bytes=MAX_BODY)
        return await PROBES["http"](ctx)


async def check_against(
    script: Script, check: dict[str, object], api_key: str | None = SECRET
) -> tuple[ProbeResult, FakeServer]:
    async with FakeServer(script) as server:
        result = await run_check(f"http://127.0.0.1:{server.port}/health", check, api_key)
    return result, server


HEALTH = {"status": {"db": "up", "ready": True, "workers": 1}}
DB_UP = {"json_path": "status.db", "json_equals": "up"}

CASES = [
    # id, check, script, outcome, http status, exact detail
    ("get-200", {}, respond(200), "ok", 200, ""),
    ("204-not-expected", {}, respond(204), INVALID, 204, "HTTP 204, expected 200"),
    ("204-expected", {"expect_status": [200, 204]}, respond(204), "ok", 204, ""),
    ("two-expected-neither", {"expect_status": [200, 204]}, respond(202), INVALID, 202,
     "HTTP 202, expected 200 or 204"),
    ("redirect-not-followed", {}, respond(302, headers="Location: /elsewhere\r\n"), INVALID, 302,
     "HTTP 302, expected 200"),
    ("503-unexpected", {}, as_json(503, {"error": "db down"}), "http_5xx", 503, "HTTP 503: db down"),
    ("503-expected", {"expect_status": [503]}, respond(503), "ok", 503, ""),
    ("200-when-503-expected", {"expect_status": [503]}, respond(200), INVALID, 200,
     "HTTP 200, expected 503"),
    ("401", {}, respond(401), "auth", 401, "HTTP 401"),
    ("429", {}, respond(429, headers="Retry-After: 3\r\n"), "http_429", 429, "HTTP 429"),
    ("404", {}, respond(404), "http_4xx", 404, "HTTP 404"),
    ("contains", {"body_contains": "ok"}, respond(200, b'{"status":"ok"}'), "ok", 200, ""),
    ("contains-missing", {"body_contains": "ok"}, respond(200, b"I'm alive"), INVALID, 200,
     "body does not contain 'ok'"),
    ("contains-invalid-utf8", {"body_contains": "ok"}, respond(200, b"\xff\xfe ok"), "ok", 200, ""),
    ("contains-empty-body", {"body_contains": "ok"}, respond(200), INVALID, 200,
     "body does not contain 'ok'"),
    ("json-path-present", {"json_path": "status.db"}, as_json(200, HEALTH), "ok", 200, ""),
    ("json-path-null-present", {"json_path": "a"}, as_json(200, {"a": None}), "ok", 200, ""),
    ("json-path-missing", {"json_path": "status.cache"}, as_json(200, HEALTH), INVALID, 200,
     "json path status.cache not found"),
    ("json-path-through-string", {"json_path": "status.db.x"}, as_json(200, HEALTH), INVALID,
     200, "json path status.db.x not found"),
    ("json-path-through-list", {"json_path": "a.0"}, as_json(200, {"a": [1]}), INVALID, 200,
     "json path a.0 not found"),
    ("json-equals", DB_UP, as_json(200, HEALTH), "ok", 200, ""),
    ("json-equals-mismatch", DB_UP, as_json(200, {"status": {"db": "down"}}), INVALID, 200,
     "status.db is 'down', expected 'up'"),
    ("json-equals-bool", {"json_path": "status.ready", "json_equals": True},
     as_json(200, HEALTH), "ok", 200, ""),
    ("json-equals-int-float", {"json_path": "n", "json_equals": 1}, as_json(200, {"n": 1.0}),
     "ok", 200, ""),
    ("json-string-is-not-number", {"json_path": "status", "json_equals": "ok"},
     as_json(200, {"status": 1}), INVALID, 200, "status is 1, expected 'ok'"),
    ("json-bool-is-not-string", {"json_path": "ready", "json_equals": "true"},
     as_json(200, {"ready": True}), INVALID, 200, "ready is true, expected 'true'"),
    ("json-bool-is-not-number", {"json_path": "status.workers", "json_equals": True},
     as_json(200, HEALTH), INVALID, 200, "status.workers is 1, expected true"),
    ("json-object-is-not-string", {"json_path": "status", "json_equals": "up"},
     as_json(200, {"status": {"db": "up"}}), INVALID, 200,
     'status is {"db": "up"}, expected \'up\''),
    ("not-json", {"json_path": "status"}, respond(200, b"<html>ok</html>"), INVALID, 200,
     "body is not valid JSON"),
    ("json-array", {"json_path": "status"}, as_json(200, ["ok"]), INVALID, 200,
     "body is not a JSON object"),
    ("contains-and-json", {"body_contains": "up", **DB_UP}, as_json(200, HEALTH), "ok", 200, ""),
    ("contains-ok-json-fails", {"body_contains": "up", **DB_UP},
     as_json(200, {"status": {"db": "upgrading"}}), INVALID, 200,
     "status.db is 'upgrading', expected 'up'"),
    ("huge-body-declared", {"body_contains": "ok"}, huge_body(1_048_576, declared=True), INVALID,
     200, f"body larger than {MAX_BODY} bytes"),
    ("huge-body-undeclared", {"body_contains": "ok"}, huge_body(1_048_576, declared=False),
     INVALID, 200, f"body larger than {MAX_BODY} bytes"),
    ("huge-body-unread-without-conditions", {}, huge_body(1_048_576, declared=True), "ok", 200, ""),
    ("head-ok", {"method": "HEAD"}, head_only(200, 50_000_000), "ok", 200, ""),
    ("head-503", {"method": "HEAD"}, head_only(503, 50_000_000), "http_5xx", 503, "HTTP 503"),
    ("post-ok", {"method": "POST", "body_contains": "ok"}, respond(200, b"ok"), "ok", 200, ""),
    ("no-answer", {}, silent(), "timeout", None, None),
]


@pytest.mark.parametrize(
    ("check", "script", "outcome", "status", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_http_check_outcome(
    check: dict[str, object], script: Script, outcome: str, status: int | None, detail: str | None
) -> None:
    result, server = asyncio.run(check_against(script, check))
    assert (result.outcome, result.http_status) == (outcome, status), result.detail
    assert (result.target, result.kind) == ("gw", "http")
    if detail is not None:
        assert result.detail == detail
    assert result.duration_s < TIMEOUT + 0.5
    if outcome == "timeout":
        assert result.duration_s >= TIMEOUT - 0.05
    head, _ = server.requests[0]
    assert head.split(b" ")[:2] == [check.get("method", "GET").encode(), b"/health"]


def test_success_counts_bytes_and_sends_bearer_token() -> None:
    result, server = asyncio.run(check_against(as_json(200, HEALTH), DB_UP))
    assert result.outcome == "ok"
    assert result.bytes_sent > 0 and result.bytes_received > 0
    headers = headers_of(server.requests[0][0])
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["accept-encoding"] == "identity"


def test_no_api_key_no_authorization_header() -> None:
    result, server = asyncio.run(check_against(respond(200), {}, api_key=None))
    assert result.outcome == "ok"
    assert "authorization" not in headers_of(server.requests[0][0])


def test_post_sends_no_body() -> None:
    _, server = asyncio.run(check_against(respond(200), {"method": "POST"}))
    head, body = server.requests[0]
    assert body == b"" and headers_of(head).get("content-length", "0") == "0"
    assert "content-type" not in headers_of(head)


@pytest.mark.parametrize(("check", "script"), [
    pytest.param({}, as_json(500, {"error": {"message": f"bad key {SECRET}"}}), id="error-message"),
    pytest.param({"json_path": "token", "json_equals": "x"}, as_json(200, {"token": SECRET}),
                 id="json-mismatch"),
    pytest.param({"body_contains": SECRET}, respond(200, b"nothing"), id="body-contains"),
])
def test_api_key_never_in_detail(check: dict[str, object], script: Script) -> None:
    result, _ = asyncio.run(check_against(script, check))
    assert result.outcome != "ok"
    assert SECRET not in result.detail and "[redacted]" in result.detail


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the probe: nothing listens there
    result = asyncio.run(run_check(f"http://127.0.0.1:{port}/health", {}, SECRET))
    assert (result.outcome, result.http_status) == ("connect", None), result.detail
    assert result.duration_s < TIMEOUT
