"""The simulator's Ollama and LM Studio APIs over real HTTP, probed and discovered by the
prober: wire shapes, every fault kind, load/unload and models appearing and disappearing.

Shapes checked against https://github.com/ollama/ollama/blob/main/docs/api.md and
https://lmstudio.ai/docs/app/api/endpoints/rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from llmhealth_config.target import Target
from prober import lmstudio, ollama
from prober.context import ProbeContext
from prober.local_models import LocalModel
from prober.outcome import ProbeResult
from simulator import ModelBehavior, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
ERROR_KINDS = ["http_500", "http_429", "http_401", "timeout", "stream_cut", "invalid_json", "empty"]
MODELS = {
    "llama3.2": ModelBehavior(**FAST, tokens_per_second=50.0),
    **{kind: ModelBehavior(**FAST, error_rate=1.0, error_kind=kind, hang_seconds=5.0)
       for kind in ERROR_KINDS},
}
PROBE_TIMEOUT = 0.5
PROTOCOLS = {"ollama": ollama, "lmstudio": lmstudio}


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    with running(MODELS, seed=11) as url:
        yield url.removesuffix("/v1")


@pytest.fixture
def fresh_root() -> Iterator[str]:
    """A simulator of its own, for tests that load, unload, add or remove models."""
    with running({"llama3.2": ModelBehavior(**FAST), "qwen2.5:0.5b": ModelBehavior(**FAST)},
                 seed=5) as url:
        yield url.removesuffix("/v1")


def context(client: httpx.AsyncClient, root: str, protocol: str, model: str | None
            ) -> ProbeContext:
    base_url = f"{root}/{protocol}"
    if model is None:
        target = Target(name="local", protocol=protocol, base_url=base_url, discover=True)
    else:
        target = Target(name="t1", protocol=protocol, base_url=base_url, model=model)
    return ProbeContext(client, target, api_key=None, timeout=PROBE_TIMEOUT,
                        max_body_bytes=1_048_576, stream_max_tokens=8)


def probe(root: str, protocol: str, kind: str, model: str) -> ProbeResult:
    async def scenario() -> ProbeResult:
        async with httpx.AsyncClient() as client:
            return await PROTOCOLS[protocol].PROBES[kind](context(client, root, protocol, model))

    return asyncio.run(scenario())


def discover(root: str, protocol: str) -> list[LocalModel]:
    async def scenario() -> list[LocalModel]:
        async with httpx.AsyncClient() as client:
            return await PROTOCOLS[protocol].discover(context(client, root, protocol, None))

    return asyncio.run(scenario())


OUTCOMES = [
    # protocol, kind, model, outcome
    ("ollama", "models", "llama3.2", "ok"),
    ("ollama", "models", "llama3.2:latest", "ok"),
    ("ollama", "completion", "llama3.2", "ok"),
    ("ollama", "stream", "llama3.2:latest", "ok"),
    ("ollama", "models", "phi3", "invalid_response"),
    ("ollama", "completion", "phi3", "http_4xx"),
    ("ollama", "completion", "http_500", "http_5xx"),
    ("ollama", "stream", "http_500", "http_5xx"),
    ("ollama", "completion", "http_429", "http_429"),
    ("ollama", "stream", "http_401", "auth"),
    ("ollama", "completion", "stream_cut", "connect"),
    ("ollama", "stream", "stream_cut", "stream_interrupted"),
    ("ollama", "completion", "invalid_json", "invalid_response"),
    ("ollama", "stream", "invalid_json", "invalid_response"),
    ("ollama", "completion", "empty", "empty_response"),
    ("ollama", "stream", "empty", "empty_response"),
    ("ollama", "stream", "timeout", "timeout"),
    ("lmstudio", "models", "llama3.2", "ok"),
    ("lmstudio", "completion", "llama3.2", "ok"),
    ("lmstudio", "stream", "llama3.2", "ok"),
    ("lmstudio", "models", "phi3", "invalid_response"),
    ("lmstudio", "stream", "stream_cut", "stream_interrupted"),
    ("lmstudio", "completion", "http_429", "http_429"),
    ("lmstudio", "completion", "timeout", "timeout"),
]


@pytest.mark.parametrize(
    ("protocol", "kind", "model", "outcome"),
    [pytest.param(*case, id="-".join(case[:3])) for case in OUTCOMES],
)
def test_probe_outcomes(root: str, protocol: str, kind: str, model: str, outcome: str) -> None:
    result = probe(root, protocol, kind, model)
    assert result.outcome == outcome, result.detail
    assert result.duration_s < PROBE_TIMEOUT + 0.5


def test_ollama_stream_reports_the_models_throughput(root: str) -> None:
    result = probe(root, "ollama", "stream", "llama3.2")
    assert result.outcome == "ok" and result.chunks == 8
    assert (result.output_tokens, result.input_tokens) == (8, 1)
    # eval_count / eval_duration is exactly the behaviour's tokens_per_second.
    assert result.output_tokens_per_s == pytest.approx(50.0, rel=1e-3)


def test_ollama_wire_shapes(root: str) -> None:
    with httpx.Client(base_url=f"{root}/ollama", timeout=5.0) as client:
        assert client.get("/api/version").json() == {"version": "0.5.7"}
        entry = client.get("/api/tags").json()["models"][0]
        assert entry["name"] == entry["model"] == "llama3.2:latest"
        assert set(entry) == {"name", "model", "modified_at", "size", "digest", "details"}
        body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
                "options": {"num_predict": 3}}
        with client.stream("POST", "/api/chat", json=body) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = [json.loads(line) for line in response.iter_lines() if line]
        assert [line["message"]["content"] for line in lines[:-1]] == ["the", " quick", " brown"]
        assert not any(line["done"] for line in lines[:-1])
        last = lines[-1]
        assert (last["done"], last["done_reason"], last["eval_count"]) == (True, "length", 3)
        assert last["eval_duration"] == 60_000_000  # 3 tokens at 50 tokens/s
        assert last["total_duration"] >= last["prompt_eval_duration"] + last["eval_duration"]
        running_model = client.get("/api/ps").json()["models"][0]
        assert running_model["name"] == "llama3.2:latest"
        assert running_model["size_vram"] == running_model["size"] > 0
        assert running_model["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        pytest.param("/api/chat", {"model": "phi3", "messages": [{"role": "user"}]}, 404,
                     'model "phi3" not found, try pulling it first', id="unknown-model"),
        pytest.param("/api/chat", {"messages": []}, 400, "model: Field required",
                     id="no-model"),
        pytest.param("/api/generate", {"model": "llama3.2", "prompt": "hi"}, 501,
                     'the simulator only unloads here: {"model": ..., "keep_alive": 0}',
                     id="generate-with-prompt"),
        pytest.param("/api/generate", {"model": "phi3", "keep_alive": 0}, 404,
                     'model "phi3" not found, try pulling it first', id="unload-unknown"),
    ],
)
def test_ollama_errors(root: str, path: str, body: dict, status: int, error: str) -> None:
    response = httpx.post(f"{root}/ollama{path}", json=body, timeout=5.0)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_ollama_load_unload_appear_disappear(fresh_root: str) -> None:
    assert discover(fresh_root, "ollama") == [
        LocalModel("llama3.2:latest", loaded=False), LocalModel("qwen2.5:0.5b", loaded=False)
    ]
    assert probe(fresh_root, "ollama", "completion", "qwen2.5:0.5b").outcome == "ok"
    [llama, qwen] = discover(fresh_root, "ollama")
    assert (llama.loaded, qwen.loaded) == (False, True)
    assert qwen.vram_bytes is not None and qwen.vram_bytes > 0

    unload = httpx.post(f"{fresh_root}/ollama/api/generate",
                        json={"model": "qwen2.5:0.5b", "keep_alive": 0})
    assert unload.json()["done_reason"] == "unload" and unload.json()["done"] is True
    assert [m.loaded for m in discover(fresh_root, "ollama")] == [False, False]

    behavior = ModelBehavior(**FAST).model_dump()
    assert httpx.put(f"{fresh_root}/_sim/models/mistral:7b", json=behavior).status_code == 200
    assert [m.name for m in discover(fresh_root, "ollama")] == [
        "llama3.2:latest", "qwen2.5:0.5b", "mistral:7b"
    ]
    assert httpx.delete(f"{fresh_root}/_sim/models/llama3.2").status_code == 204
    assert [m.name for m in discover(fresh_root, "ollama")] == ["qwen2.5:0.5b", "mistral:7b"]
    assert probe(fresh_root, "ollama", "models", "llama3.2").outcome == "invalid_response"
    assert httpx.delete(f"{fresh_root}/_sim/models/llama3.2").status_code == 404


def test_removing_a_loaded_model_unloads_it(fresh_root: str) -> None:
    assert probe(fresh_root, "ollama", "stream", "llama3.2").outcome == "ok"
    assert httpx.get(f"{fresh_root}/ollama/api/ps").json()["models"][0]["model"] == (
        "llama3.2:latest")
    httpx.delete(f"{fresh_root}/_sim/models/llama3.2")
    assert httpx.get(f"{fresh_root}/ollama/api/ps").json() == {"models": []}


def test_lmstudio_load_appear_disappear(fresh_root: str) -> None:
    # The bundled embedding model is listed by the REST API but is not a chat model.
    listed = httpx.get(f"{fresh_root}/lmstudio/api/v0/models").json()["data"]
    assert [(m["id"], m["type"], m["state"]) for m in listed] == [
        ("llama3.2", "llm", "not-loaded"),
        ("qwen2.5:0.5b", "llm", "not-loaded"),
        ("text-embedding-nomic-embed-text-v1.5", "embeddings", "not-loaded"),
    ]
    assert discover(fresh_root, "lmstudio") == [
        LocalModel("llama3.2", loaded=False), LocalModel("qwen2.5:0.5b", loaded=False)
    ]
    assert probe(fresh_root, "lmstudio", "stream", "llama3.2").outcome == "ok"
    assert [m.loaded for m in discover(fresh_root, "lmstudio")] == [True, False]

    httpx.put(f"{fresh_root}/_sim/models/phi-3", json=ModelBehavior(**FAST).model_dump())
    httpx.delete(f"{fresh_root}/_sim/models/llama3.2")
    assert discover(fresh_root, "lmstudio") == [
        LocalModel("qwen2.5:0.5b", loaded=False), LocalModel("phi-3", loaded=False)
    ]
    openai_ids = [m["id"] for m in httpx.get(f"{fresh_root}/lmstudio/v1/models").json()["data"]]
    assert openai_ids == ["qwen2.5:0.5b", "phi-3", "text-embedding-nomic-embed-text-v1.5"]


def test_ollama_server_version(root: str) -> None:
    async def scenario() -> str:
        async with httpx.AsyncClient() as client:
            return await ollama.server_version(context(client, root, "ollama", None))

    assert asyncio.run(scenario()) == "0.5.7"
