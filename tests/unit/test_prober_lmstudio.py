"""The LM Studio probes and discovery against real local HTTP servers.

Fixture bodies follow https://lmstudio.ai/docs/app/api/endpoints/rest (REST API v0:
`GET /api/v0/models`) and https://lmstudio.ai/docs/app/api/endpoints/openai (`GET /v1/models`,
`POST /v1/chat/completions`, OpenAI shapes).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from llmhealth_config.target import Target
from prober import lmstudio
from prober.context import ProbeContext
from prober.local_models import DiscoveryError, LocalModel
from prober.outcome import ProbeResult
from tests.unit.raw_http import FakeServer, Script
from tests.unit.test_prober_ollama import closed_port, routes, silent

TIMEOUT = 0.5
MAX_BODY = 1_048_576
SECRET = "lm-studio-SECRET123"
MODEL = "meta-llama-3.1-8b-instruct"


def rest_entry(model_id: str, type_: str, state: str) -> dict[str, object]:
    """One entry of GET /api/v0/models."""
    return {
        "id": model_id,
        "object": "model",
        "type": type_,
        "publisher": "lmstudio-community",
        "arch": "llama",
        "compatibility_type": "gguf",
        "quantization": "Q4_K_M",
        "state": state,
        "max_context_length": 131072,
    }


REST_MODELS = {
    "object": "list",
    "data": [
        {**rest_entry("qwen2-vl-7b-instruct", "vlm", "not-loaded"), "publisher": "mlx-community",
         "arch": "qwen2_vl", "compatibility_type": "mlx", "quantization": "4bit",
         "max_context_length": 32768},
        rest_entry(MODEL, "llm", "loaded"),
        {**rest_entry("text-embedding-nomic-embed-text-v1.5", "embeddings", "not-loaded"),
         "publisher": "nomic-ai", "arch": "nomic-bert", "max_context_length": 2048},
    ],
}

# GET /v1/models (OpenAI compatibility): ids only, no load state.
OPENAI_MODELS = {
    "object": "list",
    "data": [
        {"id": MODEL, "object": "model", "owned_by": "organization_owner"},
        {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model",
         "owned_by": "organization_owner"},
    ],
}

# What LM Studio before 0.3.6 answers for any path it does not serve: 200 with an error
# (https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/618).
UNEXPECTED = {"error": "Unexpected endpoint or method. (GET /api/v0/models)"}

# Chat completion object: https://platform.openai.com/docs/api-reference/chat/object
COMPLETION = {
    "id": "chatcmpl-iyvpdtqs1qzlv6jqkmdt9",
    "object": "chat.completion",
    "created": 1731990317,
    "model": MODEL,
    "choices": [{"index": 0, "logprobs": None, "finish_reason": "length",
                 "message": {"role": "assistant", "content": "Pong"}}],
    "usage": {"prompt_tokens": 24, "completion_tokens": 1, "total_tokens": 25},
}


def as_json(document: object) -> bytes:
    return json.dumps(document).encode()


def error_body(message: str) -> bytes:
    return as_json({"error": {"message": message, "type": "invalid_request_error"}})


def context(client: httpx.AsyncClient, base_url: str, model: str | None = MODEL,
            api_key: str | None = SECRET) -> ProbeContext:
    if model is None:
        target = Target(name="local", protocol="lmstudio", base_url=base_url, discover=True)
    else:
        target = Target(name="t1", protocol="lmstudio", base_url=base_url, model=model)
    return ProbeContext(client, target, api_key=api_key, timeout=TIMEOUT,
                        max_body_bytes=MAX_BODY, stream_max_tokens=8)


async def probe_against(script: Script, kind: str, model: str = MODEL
                        ) -> tuple[ProbeResult, FakeServer]:
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        result = await lmstudio.PROBES[kind](context(client, f"http://127.0.0.1:{server.port}",
                                                     model))
    return result, server


def paths(server: FakeServer) -> list[str]:
    return [head.split(b" ", 2)[1].decode() for head, _ in server.requests]


REST, V1 = "/api/v0/models", "/v1/models"
MISSING = (404, b"Not Found")

MODELS_CASES = [
    # id, model, routes, outcome, paths requested, detail fragment
    ("loaded", MODEL, {REST: (200, as_json(REST_MODELS))}, "ok", [REST], ""),
    ("not-loaded-is-ok", "qwen2-vl-7b-instruct", {REST: (200, as_json(REST_MODELS))}, "ok",
     [REST], ""),
    ("missing", "phi-3", {REST: (200, as_json(REST_MODELS))}, "invalid_response", [REST],
     "'phi-3' is not among the 3 models"),
    ("none-downloaded", MODEL, {REST: (200, b'{"object": "list", "data": []}')},
     "empty_response", [REST], "empty"),
    ("rest-404-falls-back", MODEL, {REST: MISSING, V1: (200, as_json(OPENAI_MODELS))}, "ok",
     [REST, V1], ""),
    ("rest-unexpected-endpoint-falls-back", MODEL,
     {REST: (200, as_json(UNEXPECTED)), V1: (200, as_json(OPENAI_MODELS))}, "ok", [REST, V1], ""),
    ("fallback-missing", "phi-3", {REST: MISSING, V1: (200, as_json(OPENAI_MODELS))},
     "invalid_response", [REST, V1], "'phi-3'"),
    ("both-404", MODEL, {}, "http_4xx", [REST, V1], "HTTP 404"),
    ("rest-500-no-fallback", MODEL, {REST: (500, error_body("Model crashed"))}, "http_5xx",
     [REST], "HTTP 500: Model crashed"),
    ("rest-401", MODEL, {REST: (401, error_body("Invalid API token"))}, "auth", [REST],
     "Invalid API token"),
    ("rest-malformed", MODEL, {REST: (200, b'{"data": {}}')}, "invalid_response", [REST],
     "data is not a list"),
]


@pytest.mark.parametrize(
    ("model", "table", "outcome", "requested", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in MODELS_CASES],
)
def test_models_probe(model: str, table: dict[str, tuple[int, bytes]], outcome: str,
                      requested: list[str], detail: str) -> None:
    result, server = asyncio.run(probe_against(routes(table), "models", model))
    assert result.outcome == outcome, result.detail
    assert detail in result.detail
    assert paths(server) == requested
    assert SECRET not in result.detail


def test_models_probe_timeout() -> None:
    result, _ = asyncio.run(probe_against(silent(), "models"))
    assert result.outcome == "timeout" and result.http_status is None
    assert TIMEOUT - 0.05 <= result.duration_s < TIMEOUT + 0.5


def test_chat_goes_to_the_openai_compatible_api() -> None:
    result, server = asyncio.run(probe_against(
        routes({"/v1/chat/completions": (200, as_json(COMPLETION))}), "completion"))
    assert result.outcome == "ok" and (result.input_tokens, result.output_tokens) == (24, 1)
    assert paths(server) == ["/v1/chat/completions"]
    assert json.loads(server.requests[0][1])["model"] == MODEL


async def discover_against(script: Script) -> tuple[list[LocalModel], FakeServer]:
    async with FakeServer(script) as server, httpx.AsyncClient() as client:
        models = await lmstudio.discover(context(client, f"http://127.0.0.1:{server.port}", None))
    return models, server


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param({REST: (200, as_json(REST_MODELS))},
                     [LocalModel("qwen2-vl-7b-instruct", loaded=False),
                      LocalModel(MODEL, loaded=True)],
                     id="rest-api-skips-embeddings"),
        pytest.param({REST: MISSING, V1: (200, as_json(OPENAI_MODELS))},
                     [LocalModel(MODEL), LocalModel("text-embedding-nomic-embed-text-v1.5")],
                     id="404-falls-back-without-load-state"),
        pytest.param({REST: (200, as_json(UNEXPECTED)), V1: (200, as_json(OPENAI_MODELS))},
                     [LocalModel(MODEL), LocalModel("text-embedding-nomic-embed-text-v1.5")],
                     id="unexpected-endpoint-falls-back"),
        pytest.param({REST: (200, as_json({"object": "list", "data": [
                         {**rest_entry(MODEL, "llm", "loading")}]}))},
                     [LocalModel(MODEL, loaded=None)], id="unknown-state"),
    ],
)
def test_discover(table: dict[str, tuple[int, bytes]], expected: list[LocalModel]) -> None:
    models, _ = asyncio.run(discover_against(routes(table)))
    assert models == expected


@pytest.mark.parametrize(
    ("table", "error_type", "detail"),
    [
        pytest.param({REST: (500, error_body("Model crashed"))}, "http_5xx",
                     "HTTP 500: Model crashed", id="rest-500"),
        pytest.param({REST: MISSING}, "http_4xx", "HTTP 404", id="fallback-404"),
        pytest.param({REST: (401, error_body(f"Invalid token {SECRET}"))}, "auth",
                     "HTTP 401: Invalid token [redacted]", id="401-echoes-key"),
        pytest.param({REST: (200, b'{"data": [{"type": "llm"}]}')}, "invalid_response",
                     "a model entry has no id", id="entry-without-id"),
        pytest.param({REST: (200, b"[]")}, "invalid_response",
                     "/api/v0/models body is not a JSON object", id="not-an-object"),
    ],
)
def test_discover_failures(table: dict[str, tuple[int, bytes]], error_type: str,
                           detail: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        asyncio.run(discover_against(routes(table)))
    assert (caught.value.error_type, caught.value.detail) == (error_type, detail)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "error_type"),
    [
        pytest.param(lambda: f"http://127.0.0.1:{closed_port()}", "connect", id="refused"),
        pytest.param(lambda: "http://nonexistent.invalid", "dns", id="dns"),
    ],
)
def test_discover_unreachable_server(base_url, error_type: str) -> None:
    async def scenario() -> list[LocalModel]:
        async with httpx.AsyncClient() as client:
            return await lmstudio.discover(context(client, base_url(), None))

    started = time.perf_counter()
    with pytest.raises(DiscoveryError) as caught:
        asyncio.run(scenario())
    assert caught.value.error_type == error_type and caught.value.detail
    assert time.perf_counter() - started < TIMEOUT + 0.5
