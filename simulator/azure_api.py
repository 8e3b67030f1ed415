"""Azure OpenAI's chat route, under the resource root: `POST /openai/deployments/{name}/chat/
completions?api-version=…`, the deployment's model answering as the OpenAI API does.

Shapes follow https://learn.microsoft.com/azure/ai-foundry/openai/reference: the deployment
is named in the path and the body carries no `model`; the key comes in an `api-key` header
(not checked here). Without `api-version` Azure answers 404 `Resource not found`
(https://github.com/MicrosoftDocs/azure-docs/issues/114602), and so does the simulator.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulator.chat_request import parse_chat_request
from simulator.errors import ApiError
from simulator.openai_chat import chat_response
from simulator.state import SimState


def azure_router(sim: SimState) -> APIRouter:
    """`POST /openai/deployments/{deployment}/chat/completions`: deployment `name` is the
    simulated model `name`."""
    router = APIRouter(prefix="/openai")

    @router.post("/deployments/{deployment}/chat/completions")
    async def chat_completions(deployment: str, request: Request) -> Response:
        if not request.query_params.get("api-version"):
            return JSONResponse({"error": {"code": "404", "message": "Resource not found"}},
                                status_code=404)
        body = await request.body()
        try:
            document = json.loads(body)
        except ValueError:
            raise ApiError.invalid_request("invalid request body: not JSON") from None
        if not isinstance(document, dict):
            raise ApiError.invalid_request("invalid request body: not a JSON object")
        chat = parse_chat_request(json.dumps({**document, "model": deployment}).encode())
        return await chat_response(request, sim, chat, body)

    return router
