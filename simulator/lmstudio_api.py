"""LM Studio under `/lmstudio`: its REST API's model list and its OpenAI-compatible API.

Shapes follow https://lmstudio.ai/docs/app/api/endpoints/rest (REST API v0) and
https://lmstudio.ai/docs/app/api/endpoints/openai. Every simulated model is downloaded and
listed as an `llm`, next to the embedding model LM Studio ships with; a chat request loads
its model (just-in-time loading), which `/api/v0/models` then shows as `state: loaded`. Chat
is the simulator's OpenAI chat, faults included.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from simulator.chat_request import parse_chat_request
from simulator.openai_shapes import model_list
from simulator.replies import answer
from simulator.state import SimState

EMBEDDING_MODEL = "text-embedding-nomic-embed-text-v1.5"
"""The embedding model bundled with LM Studio: listed, never a chat model."""


def lmstudio_router(sim: SimState) -> APIRouter:
    """`GET /lmstudio/api/v0/models`, `GET /lmstudio/v1/models` and
    `POST /lmstudio/v1/chat/completions`."""
    router = APIRouter(prefix="/lmstudio")

    @router.get("/api/v0/models")
    async def rest_models() -> dict:
        data = [_llm(name, loaded=name in sim.resident) for name in sim.names()]
        return {"object": "list", "data": [*data, _EMBEDDING]}

    @router.get("/v1/models")
    async def openai_models() -> dict:
        return model_list([*sim.names(), EMBEDDING_MODEL], sim.created)

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        chat = parse_chat_request(await request.body())
        behavior = sim.effective(chat.model)
        sim.resident[chat.model] = time.time()
        fault = sim.draw_fault(chat.model, behavior)
        return await answer(request, sim, chat, behavior, fault)

    return router


def _llm(name: str, *, loaded: bool) -> dict:
    return {
        "id": name,
        "object": "model",
        "type": "llm",
        "publisher": "llmhealth-simulator",
        "arch": "llama",
        "compatibility_type": "gguf",
        "quantization": "Q4_K_M",
        "state": "loaded" if loaded else "not-loaded",
        "max_context_length": 32768,
    }


_EMBEDDING = {
    "id": EMBEDDING_MODEL,
    "object": "model",
    "type": "embeddings",
    "publisher": "nomic-ai",
    "arch": "nomic-bert",
    "compatibility_type": "gguf",
    "quantization": "Q4_0",
    "state": "not-loaded",
    "max_context_length": 2048,
}
