"""The Ollama probes and discovery against real local HTTP servers.

Each server is a raw HTTP/1.1 responder on 127.0.0.1 with an ephemeral port, so every byte
(and every missing byte) is under the test's control. Every fixture body follows
https://github.com/ollama/ollama/blob/main/docs/api.md.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc

import httpx
import pytest

from llmhealth_config.target import Target
from prober import ollama
from prober.context import ProbeContext
from prober.local_models import DiscoveryError, LocalModel
from prober.outcome import ERROR_TYPES, ProbeResult
from tests.unit.raw_http import FakeServer, Script, headers_of, huge_body, silent

TIMEOUT = 0.5
MAX_BODY = 1_048_576
SECRET = "sk-test-SECRET123"
MODEL = "llama3.2:1b"

# Model details, as in "List Local Models" and "List Running Models".
DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "1.2B",
    "quantization_level": "Q8_0",
}


def installed(name: str, size: int = 1_321_098_329) -> dict[str, object]:
    """One entry of GET /api/tags ("List Local Models")."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2024-12-09T14:13:43.416799-08:00",
        "size": size,
        "digest": "baf6a787fdffd633537aa2eb51cfd54cb93ff08e28040095462bb63daf552878",
        "details": DETAILS,
    }


def running_entry(name: str, size_vram: int) -> dict[str, object]:
    """One entry of GET /api/ps ("List Running Models")."""
    return {
        **installed(name),
        "expires_at": "2024-06-04T14:38:31.83753-07:00",
        "size_vram": size_vram,
    }


TAGS = {"models": [installed(MODEL), installed("qwen2.5:latest"), installed("mistral:7b")]}

# "Chat Request (No streaming)" response; durations in nanoseconds.
CHAT = {
    "model": MODEL,
    "created_at": "2023-12-12T14:13:43.416799Z",
    "message": {"role": "assistant", "content": "Pong"},
    "done": True,
    "done_reason": "length",
    "total_duration": 5_191_566_416,
    "load_duration": 2_154_458,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 383_809_000,
    "eval_count": 1,
    "eval_duration": 4_799_921_000,
}


# "Chat Request (Streaming)": one object per line, the last with `done: true` and the stats.
def line(content: str) -> bytes:
    return json.dumps({
        "model": MODEL,
        "created_at": "2023-08-04T08:52:19.385406455-07:00",
        "message": {"role": "assistant", "content": content, "images": None},
        "done": False,
    }).encode()


def final(eval_count: int = 4, eval_duration: int = 200_000_000) -> bytes:
    return json.dumps({
        "model": MODEL,
        "created_at": "2023-08-04T19:22:45.499127Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 4_883_583_458,
        "load_duration": 1_334_875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342_546_000,
        "eval_count": eval_count,
        "eval_duration": eval_duration,
    }).encode()


# Errors: `{"error": "..."}` with the status, or as a line of a stream that already started.
def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def respond(status: int, body: bytes, content_type: str = "application/json") -> Script:
    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, response(status, body, content_type))

    return script


def routes(table: dict[str, tuple[int, bytes]]) -> Script:
    """Answer each request by its path; any other path is a 404, as Ollama's is."""

    async def script(server: FakeServer, reader, writer) -> None:
        head, _ = await server.read_request(reader)
        path = head.split(b" ", 2)[1].decode()
        status, body = table.get(path, (404, b"404 page not found"))
        await server.send(writer, response(status, body, "application/json"))

    return script


def ndjson(lines: list[bytes], *, gap: float = 0.0, first_gap: float = 0.0,
           terminate: bool = True) -> Script:
    """A chunked application/x-ndjson body, one line per chunk; without `terminate` the
    connection is cut mid-body (no last chunk)."""

    async def script(server: FakeServer, reader, writer) -> None:
        await server.read_request(reader)
        await server.send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n")
        for index, body in enumerate(lines):
            await asyncio.sleep(first_gap if index == 0 else gap)
            frame = body + b"\n"
            await server.send(writer, b"%x\r\n%s\r\n" % (len(frame), frame))
        if terminate:
            await server.send(writer, b"0\r\n\r\n")

    return script


def endless_stream() -> Script:
    """A content line every 0.1 s forever: bytes keep flowing, `done` never comes."""

    async def script(server: FakeServer, reader, writer) -> None:
        await ndjson([line("x")], terminate=False)(server, reader, writer)
        while True:
            await asyncio.sleep(0.1)
            frame = line("x") + b"\n"
            await server.send(writer, b"%x\r\n%s\r\n" % (len(frame), frame))

    return script




def context(client: httpx.AsyncClient, base_url: str, model: str | None = MODEL,
            api_key: str | None = SECRET) -> ProbeContext:
    if model is None:
        target = Target(name="local", protocol="ollama", base_url=base_url, discover=True)
    else:
        target = Target(name="t1", protocol="ollama", base_url=base_url, model=model)
    return ProbeContext(client, target, api_key=api_key, timeout=TIMEOUT,
                        max_body_bytes=MAX_BODY, stream_max_tokens=8)


async def probe_against(
    script: Script, kind: str, model: str = MODEL, api_key: str | None = SECRET
) -> tuple[ProbeResult, FakeServer]:
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        ctx = context(client, f"http://127.0.0.1:{server.port}", model, api_key)
        result = await ollama.PROBES[kind](ctx)
    return result, server


def ok_stream() -> Script:
    return ndjson([line("Po"), line("ng"), line("!"), line("."), final()], first_gap=0.1,
                  gap=0.03)


M, C, S = "models", "completion", "stream"
INVALID, EMPTY, INTERRUPTED = "invalid_response", "empty_response", "stream_interrupted"


def as_json(document: object) -> bytes:
    return json.dumps(document).encode()


CASES = [
    # id, kind, model, script, outcome, http status, detail fragment
    ("models-ok", M, MODEL, respond(200, as_json(TAGS)), "ok", 200, ""),
    ("models-implicit-latest", M, "qwen2.5", respond(200, as_json(TAGS)), "ok", 200, ""),
    ("models-explicit-latest", M, "mistral:latest",
     respond(200, as_json({"models": [installed("mistral")]})), "ok", 200, ""),
    ("models-other-tag", M, "mistral:latest", respond(200, as_json(TAGS)), INVALID, 200,
     "'mistral:latest' is not among the 3 models installed"),
    ("models-missing", M, "phi3", respond(200, as_json(TAGS)), INVALID, 200, "'phi3'"),
    ("models-none-installed", M, MODEL, respond(200, b'{"models": []}'), EMPTY, 200,
     "no models are installed"),
    ("models-not-a-list", M, MODEL, respond(200, b'{"models": {}}'), INVALID, 200,
     "models is not a list"),
    ("models-entry-without-name", M, MODEL, respond(200, b'{"models": [{"size": 1}]}'),
     INVALID, 200, "no name"),
    ("models-500", M, MODEL, respond(500, error_body("unexpected server error")), "http_5xx",
     500, "HTTP 500: unexpected server error"),
    ("completion-ok", C, MODEL, respond(200, as_json(CHAT)), "ok", 200, ""),
    ("completion-model-not-found", C, "phi3",
     respond(404, error_body('model "phi3" not found, try pulling it first')), "http_4xx", 404,
     'HTTP 404: model "phi3" not found'),
    ("completion-401", C, MODEL, respond(401, error_body("unauthorized")), "auth", 401, ""),
    ("completion-429", C, MODEL, respond(429, error_body("too many requests")), "http_429", 429,
     ""),
    ("completion-not-done", C, MODEL, respond(200, as_json({**CHAT, "done": False})), INVALID,
     200, "not done"),
    ("completion-no-message", C, MODEL,
     respond(200, as_json({k: v for k, v in CHAT.items() if k != "message"})), EMPTY, 200,
     "no message"),
    ("completion-error-with-200", C, MODEL, respond(200, error_body("out of memory")), INVALID,
     200, "out of memory"),
    ("completion-not-json", C, MODEL, respond(200, b"<html>oops</html>"), INVALID, 200,
     "not valid JSON"),
    ("stream-ok", S, MODEL, ok_stream(), "ok", 200, ""),
    ("stream-ends-before-done", S, MODEL, ndjson([line("Po"), line("ng")]), INTERRUPTED, 200,
     "without done: true (2 lines, 2 content chunks)"),
    ("stream-cut-mid-body", S, MODEL, ndjson([line("Po")], terminate=False), INTERRUPTED, 200,
     ""),
    ("stream-done-then-cut", S, MODEL, ndjson([line("a"), final()], terminate=False), "ok", 200,
     ""),
    ("stream-error-line", S, MODEL, ndjson([line("Po"), error_body("llama runner exited")]),
     INTERRUPTED, 200, "error after 1 lines (1 content chunks): llama runner exited"),
    ("stream-invalid-line", S, MODEL, ndjson([line("Po"), b"{not json"]), INVALID, 200,
     "NDJSON line is not valid JSON"),
    ("stream-array-line", S, MODEL, ndjson([b"[1]"]), INVALID, 200, "not a JSON object"),
    ("stream-no-lines", S, MODEL, ndjson([]), INVALID, 200, "no NDJSON lines"),
    ("stream-no-content", S, MODEL, ndjson([line(""), final(eval_count=0)]), EMPTY, 200,
     "without content"),
    ("stream-404", S, "phi3", respond(404, error_body('model "phi3" not found')), "http_4xx",
     404, "not found"),
    ("stream-never-ends", S, MODEL, endless_stream(), "timeout", 200, ""),
    ("no-answer-models", M, MODEL, silent(), "timeout", None, ""),
    ("no-answer-stream", S, MODEL, silent(), "timeout", None, ""),
]


@pytest.mark.parametrize(
    ("kind", "model", "script", "outcome", "status", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_probe_outcome(kind: str, model: str, script: Script, outcome: str, status: int | None,
                       detail: str) -> None:
    result, _ = asyncio.run(probe_against(script, kind, model))
    assert (result.outcome, result.http_status) == (outcome, status), result.detail
    assert result.outcome == "ok" or result.outcome in ERROR_TYPES
    assert detail in result.detail
    assert result.duration_s < TIMEOUT + 0.5
    assert SECRET not in result.detail
    if outcome != "ok":
        assert result.detail
    if outcome == "timeout":
        assert result.duration_s >= TIMEOUT - 0.05


def test_completion_request_and_tokens() -> None:
    result, server = asyncio.run(probe_against(respond(200, as_json(CHAT)), C))
    assert result.outcome == "ok"
    assert (result.input_tokens, result.output_tokens) == (26, 1)
    assert (result.ttft_s, result.output_tokens_per_s, result.stream_clean) == (None, None, None)
    head, body = server.requests[0]
    assert head.startswith(b"POST /api/chat HTTP/1.1\r\n")
    assert headers_of(head)["authorization"] == f"Bearer {SECRET}"
    assert json.loads(body) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "ping"}],
        "stream": False,
        "options": {"num_predict": 1, "temperature": 0},
    }


def test_stream_rate_comes_from_eval_count_and_duration() -> None:
    result, server = asyncio.run(probe_against(ok_stream(), S))
    assert result.outcome == "ok" and result.stream_clean is True
    assert result.chunks == 4 and 0.1 <= result.ttft_s < 0.3
    # 4 tokens in 200 ms of evaluation, whatever the arrival times (~33/s here).
    assert result.output_tokens_per_s == pytest.approx(20.0)
    assert (result.input_tokens, result.output_tokens) == (26, 4)
    payload = json.loads(server.requests[0][1])
    assert payload["stream"] is True
    assert payload["options"] == {"num_predict": 8, "temperature": 0}


@pytest.mark.parametrize("kind", [C, S])
def test_max_output_tokens_raises_num_predict(kind: str) -> None:
    async def run() -> FakeServer:
        script = respond(200, as_json(CHAT)) if kind == C else ok_stream()
        async with FakeServer(script) as server, httpx.AsyncClient() as client:
            target = Target(name="t1", protocol="ollama", base_url=f"http://127.0.0.1:{server.port}",
                            model=MODEL, max_output_tokens=32)
            await ollama.PROBES[kind](ProbeContext(client, target, api_key=None, timeout=TIMEOUT,
                                                   max_body_bytes=MAX_BODY, stream_max_tokens=8))
        return server

    server = asyncio.run(run())
    assert json.loads(server.requests[0][1])["options"]["num_predict"] == 32  # not 1 or 8


def test_stream_rate_falls_back_to_arrivals_without_eval_duration() -> None:
    lines = [line("a"), line("b"), line("c"), final(eval_count=3, eval_duration=0)]
    result, _ = asyncio.run(probe_against(ndjson(lines, gap=0.05), S))
    assert result.outcome == "ok"
    # Two gaps of 0.05 s between three content lines: ~20 chunks/s.
    assert 10 < result.output_tokens_per_s < 30


def test_interrupted_stream_keeps_ttft_but_no_rate() -> None:
    result, _ = asyncio.run(probe_against(ndjson([line("a"), line("b")], terminate=False), S))
    assert result.outcome == INTERRUPTED and result.stream_clean is False
    assert result.ttft_s is not None and result.chunks == 2
    assert result.output_tokens_per_s is None


def test_models_request_has_no_authorization_without_key() -> None:
    _, server = asyncio.run(probe_against(respond(200, as_json(TAGS)), M, api_key=None))
    head = server.requests[0][0]
    assert head.startswith(b"GET /api/tags HTTP/1.1\r\n")
    assert "authorization" not in headers_of(head)


@pytest.mark.parametrize(
    ("kind", "declared"),
    [
        pytest.param(M, True, id="models-content-length"),
        pytest.param(C, False, id="completion-streamed"),
        pytest.param(S, False, id="stream-one-endless-line"),
    ],
)
def test_huge_body_is_not_read(kind: str, declared: bool) -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result, server = asyncio.run(probe_against(huge_body(50_000_000, declared=declared), kind))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == "invalid_response"
    assert result.detail in (f"body larger than {MAX_BODY} bytes",
                             f"NDJSON line longer than {MAX_BODY} bytes")
    assert server.bytes_sent < 25_000_000
    assert peak < 4_000_000
    assert time.perf_counter() - started < TIMEOUT


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("llama3.2", "llama3.2:latest", id="no-tag"),
        pytest.param("llama3.2:1b", "llama3.2:1b", id="tag"),
        pytest.param("library/llama3.2", "library/llama3.2:latest", id="namespace"),
        pytest.param("localhost:5000/llama3.2", "localhost:5000/llama3.2:latest",
                     id="registry-port-is-no-tag"),
        pytest.param("hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M",
                     "hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M", id="hugging-face-quant-tag"),
    ],
)
def test_canonical_name(name: str, expected: str) -> None:
    assert ollama.canonical(name) == expected


async def discover_against(script: Script, api_key: str | None = SECRET) -> list[LocalModel]:
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        return await ollama.discover(context(client, f"http://127.0.0.1:{server.port}", None,
                                             api_key))


def test_discover_installed_loaded_and_vram() -> None:
    tags = {"models": [installed(MODEL), installed("qwen2.5:latest"), installed("mistral:7b")]}
    # Running models may be named without their tag; "qwen2.5" is "qwen2.5:latest".
    ps = {"models": [running_entry(MODEL, 2_000_000_000), running_entry("qwen2.5", 0)]}
    models = asyncio.run(discover_against(
        routes({"/api/tags": (200, as_json(tags)), "/api/ps": (200, as_json(ps))})
    ))
    assert models == [
        LocalModel(MODEL, loaded=True, vram_bytes=2_000_000_000),
        LocalModel("qwen2.5:latest", loaded=True, vram_bytes=0),
        LocalModel("mistral:7b", loaded=False, vram_bytes=None),
    ]


def test_discover_without_api_ps_leaves_load_state_unknown() -> None:
    # Servers before /api/ps ("List Running Models") answer it with 404.
    script = routes({"/api/tags": (200, as_json({"models": [installed(MODEL)]}))})
    assert asyncio.run(discover_against(script)) == [LocalModel(MODEL, loaded=None)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_discover_unreachable_server() -> None:
    async def scenario() -> list[LocalModel]:
        async with httpx.AsyncClient() as client:
            return await ollama.discover(context(client, f"http://127.0.0.1:{closed_port()}",
                                                 None))

    with pytest.raises(DiscoveryError) as caught:
        asyncio.run(scenario())
    assert caught.value.error_type == "connect"
    assert caught.value.detail and SECRET not in str(caught.value)


OK_TAGS = (200, as_json(TAGS))
OK_PS = (200, b'{"models": []}')


@pytest.mark.parametrize(
    ("script", "error_type", "detail"),
    [
        pytest.param(routes({"/api/tags": OK_TAGS, "/api/ps": (500, error_body("boom"))}),
                     "http_5xx", "HTTP 500: boom", id="ps-500"),
        pytest.param(routes({"/api/tags": (401, error_body(f"bad token {SECRET}")),
                             "/api/ps": OK_PS}),
                     "auth", "HTTP 401: bad token [redacted]", id="401-echoes-key"),
        pytest.param(routes({"/api/tags": (200, b"<html>"), "/api/ps": OK_PS}),
                     "invalid_response", "/api/tags body is not valid JSON", id="tags-not-json"),
        pytest.param(routes({"/api/tags": OK_TAGS, "/api/ps": (200, b'{"models": "x"}')}),
                     "invalid_response", "models is not a list of model objects",
                     id="ps-malformed"),
        pytest.param(routes({"/api/tags": (200, b'{"models": [{"size": 1}]}'),
                             "/api/ps": OK_PS}),
                     "invalid_response", "a model entry has no name", id="entry-without-name"),
        pytest.param(huge_body(50_000_000, declared=False), "invalid_response",
                     f"body larger than {MAX_BODY} bytes", id="huge-body"),
        pytest.param(silent(), "timeout", "deadline exceeded", id="no-answer"),
    ],
)
def test_discover_failures(script: Script, error_type: str, detail: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DiscoveryError) as caught:
        asyncio.run(discover_against(script))
    assert (caught.value.error_type, caught.value.detail) == (error_type, detail)
    assert SECRET not in str(caught.value)
    assert time.perf_counter() - started < TIMEOUT + 0.5


async def version_against(script: Script) -> str:
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        return await ollama.server_version(context(client, f"http://127.0.0.1:{server.port}",
                                                   None))


def test_server_version() -> None:
    # "Version": GET /api/version -> {"version": "0.5.1"}
    script = routes({"/api/version": (200, b'{"version": "0.5.1"}')})
    assert asyncio.run(version_against(script)) == "0.5.1"


@pytest.mark.parametrize(
    ("script", "error_type"),
    [
        pytest.param(routes({"/api/version": (200, b'{"version": 5}')}), "invalid_response",
                     id="not-a-string"),
        pytest.param(routes({}), "http_4xx", id="404"),
    ],
)
def test_server_version_failures(script: Script, error_type: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        asyncio.run(version_against(script))
    assert caught.value.error_type == error_type
