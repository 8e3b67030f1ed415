"""LM Studio: its REST API for the model list and discovery, its OpenAI-compatible API for chat.

API reference: https://lmstudio.ai/docs/app/api/endpoints/rest (REST API v0, LM Studio 0.3.6
and later) and https://lmstudio.ai/docs/app/api/endpoints/openai. The target's base URL is the
server root, e.g. `http://127.0.0.1:1234`; `prober.openai` puts chat below `/v1` for it.

`/api/v0/models` lists every downloaded model with its `type` (llm, vlm, embeddings) and
`state` (loaded, not-loaded). A server that predates the REST API answers it with 404, or, as
LM Studio itself does for any unknown path, with 200 and
`{"error": "Unexpected endpoint or method. (GET /api/v0/models)"}`
(https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/618); the OpenAI-compatible
`/v1/models` then stands in, without load states.
"""

from __future__ import annotations

import contextlib

import httpx

from prober import openai
from prober.attempt import Attempt, run_attempt
from prober.body import read_body
from prober.context import ProbeContext, ProbeFn
from prober.exchange import check_status, json_object, send
from prober.local_fetch import (
    auth_headers,
    discovery_errors,
    get_json,
    get_json_if_present,
    model_entries,
)
from prober.local_models import LocalModel
from prober.outcome import ProbeFailure, ProbeResult

MODELS_PATHS = ("/api/v0/models", "/v1/models")
"""The REST API's model list, then the OpenAI-compatible one for servers without it."""


async def probe_models(ctx: ProbeContext) -> ProbeResult:
    """GET the model list; ok when it parses and names the target's model, loaded or not."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        async with _get_list(ctx, attempt, MODELS_PATHS[0]) as response:
            if response.status_code != 404:
                failure = await check_status(response, attempt, ctx.api_key)
                if failure:
                    return failure
                document = json_object(await read_body(response, ctx.max_body_bytes, attempt),
                                       "body")
                if not _unknown_endpoint(document):
                    return openai.judge_model_list(document, ctx.target.model)
        async with _get_list(ctx, attempt, MODELS_PATHS[1]) as response:
            failure = await check_status(response, attempt, ctx.api_key)
            if failure:
                return failure
            body = await read_body(response, ctx.max_body_bytes, attempt)
        return openai.judge_model_list(json_object(body, "body"), ctx.target.model)

    return await run_attempt(ctx.target.name, "models", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


PROBES: dict[str, ProbeFn] = {
    "models": probe_models,
    "completion": openai.probe_completion,
    "stream": openai.probe_stream,
    "context": openai.probe_context,
}


async def discover(ctx: ProbeContext) -> list[LocalModel]:
    """One `LocalModel` per chat model the server has downloaded (embedding models are
    skipped), `loaded` from its `state`; from `/v1/models` with `loaded` None on a server
    without the REST API. Raises `DiscoveryError`."""
    document = await get_json_if_present(ctx, MODELS_PATHS[0])
    if document is None or _unknown_endpoint(document):
        fallback = await get_json(ctx, MODELS_PATHS[1])
        with discovery_errors(ctx.api_key):
            return [LocalModel(_id(entry)) for entry in model_entries(fallback, "data")]
    with discovery_errors(ctx.api_key):
        return [
            LocalModel(_id(entry), _loaded(entry.get("state")))
            for entry in model_entries(document, "data")
            if entry.get("type") != "embeddings"
        ]


def _get_list(
    ctx: ProbeContext, attempt: Attempt, path: str
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    return send(ctx.client, attempt, "GET", f"{ctx.base_url}{path}", timeout=ctx.timeout,
                headers=auth_headers(ctx.api_key))


def _unknown_endpoint(document: dict[str, object]) -> bool:
    """Whether a 200 answer is LM Studio's error for a path it does not serve."""
    return "data" not in document and isinstance(document.get("error"), str)


def _id(entry: dict[str, object]) -> str:
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise ProbeFailure("invalid_response", "a model entry has no id")
    return model_id


def _loaded(state: object) -> bool | None:
    """`state` "loaded" or "not-loaded" as a bool; None for a state this code does not know."""
    return {"loaded": True, "not-loaded": False}.get(state) if isinstance(state, str) else None
