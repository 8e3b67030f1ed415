"""The simulator's ASGI app: an OpenAI-compatible API plus `/_sim` control routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response

from simulator.anthropic_api import anthropic_router
from simulator.azure_api import azure_router
from simulator.behavior import ModelBehavior
from simulator.chat_request import parse_chat_request
from simulator.errors import ApiError, render_api_error
from simulator.lmstudio_api import lmstudio_router
from simulator.ollama_api import ollama_router
from simulator.openai_chat import chat_response
from simulator.openai_shapes import model_list
from simulator.state import SimState


def create_app(models: dict[str, ModelBehavior], *, seed: int | None = None) -> FastAPI:
    """Build an app serving `models`; `seed` makes fault draws, latencies and ids
    reproducible. The app's `SimState` is at `app.state.sim`.

    Routes: GET /v1/models, POST /v1/chat/completions, GET /_sim/models,
    PUT /_sim/models/{name}, DELETE /_sim/models/{name}, GET /_sim/stats,
    GET /_sim/requests/{name} (the chat request bodies a model received, oldest first).
    Anthropic Messages (`simulator.anthropic_api`): GET /anthropic/v1/models,
    POST /anthropic/v1/messages.
    Ollama (`simulator.ollama_api`): GET /ollama/api/version, /ollama/api/tags, /ollama/api/ps,
    POST /ollama/api/chat, POST /ollama/api/generate (unload only).
    LM Studio (`simulator.lmstudio_api`): GET /lmstudio/api/v0/models, /lmstudio/v1/models,
    POST /lmstudio/v1/chat/completions.
    Azure OpenAI (`simulator.azure_api`): POST /openai/deployments/{name}/chat/completions.
    """
    sim = SimState(models, seed)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sim.waiter.reset()
        yield

    app = FastAPI(title="llmhealth simulator", lifespan=lifespan)
    app.include_router(anthropic_router(sim))
    app.include_router(ollama_router(sim))
    app.include_router(lmstudio_router(sim))
    app.include_router(azure_router(sim))
    app.state.sim = sim
    app.add_exception_handler(ApiError, render_api_error)

    @app.get("/v1/models")
    async def list_models() -> dict:
        """OpenAI model list of every served model."""
        return model_list(sim.names(), sim.created)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        """OpenAI Chat Completions, stream or not, with the model's faults injected."""
        body = await request.body()
        return await chat_response(request, sim, parse_chat_request(body), body)

    @app.get("/_sim/models")
    async def get_behaviors() -> dict[str, ModelBehavior]:
        """Base behaviour (schedule included) of every model."""
        return sim.behaviors()

    @app.put("/_sim/models/{name}")
    async def put_behavior(name: str, behavior: ModelBehavior) -> ModelBehavior:
        """Replace or add `name`'s behaviour and restart its schedule clock."""
        sim.replace(name, behavior)
        return behavior

    @app.delete("/_sim/models/{name}", status_code=204)
    async def delete_behavior(name: str) -> Response:
        """Stop serving `name` on every API (404 when it is not served); its stats persist."""
        if not sim.remove(name):
            raise ApiError.model_not_found(name)
        return Response(status_code=204)

    @app.get("/_sim/stats")
    async def stats() -> dict[str, dict[str, int]]:
        """Per-model `{"requests": n, "errors": n, "refused": n}`."""
        return sim.stats()

    @app.get("/_sim/requests/{name}")
    async def requests(name: str) -> list[object]:
        """The chat request bodies `name` received on any API, oldest first (at most 100)."""
        return sim.received(name)

    return app
