"""The OpenAI-compatible protocol: OpenAI, Azure OpenAI, vLLM, OpenRouter, LiteLLM, Portkey,
and LM Studio's OpenAI-compatible chat.

API reference: https://platform.openai.com/docs/api-reference/chat/create and
https://platform.openai.com/docs/api-reference/models/list; Azure OpenAI:
https://learn.microsoft.com/azure/ai-foundry/openai/reference (deployment path,
`api-version` query parameter, `api-key` header).

Three probes with the shared call shape (`prober.context`): `models` lists models and checks
the target's model is among them (no tokens spent), `completion` asks for one token, `stream`
for a few streamed tokens. Reasoning models (o-series, gpt-5, or `reasoning: true`) get
`max_completion_tokens` and the smallest reasoning effort instead of `max_tokens` and
`temperature`, and a clean end with `finish_reason: length` and no visible content counts as
ok: the budget went to reasoning, the model is up.
"""

from __future__ import annotations

import contextlib
import re

import httpx

from prober.attempt import Attempt, run_attempt
from prober.context import ProbeContext, ProbeFn
from prober.exchange import fetch_json, is_count, json_object, read_stream, send
from prober.outcome import OK, ProbeFailure, ProbeResult
from prober.sse import iter_sse_data

_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_MINIMAL_EFFORT_MODEL = re.compile(r"^gpt-5(?!\.)")
"""gpt-5, gpt-5-mini, … accept effort `minimal`; gpt-5.1 and later answer it with 400
(https://platform.openai.com/docs/api-reference/chat/create#chat_create-reasoning_effort)."""


async def probe_models(ctx: ProbeContext) -> ProbeResult:
    """GET the model list; ok when it parses and names the target's model."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        url = f"{_api_root(ctx)}/models"
        request = send(ctx.client, attempt, "GET", url, timeout=ctx.timeout, headers=_auth(ctx))
        document = await fetch_json(ctx, attempt, request)
        return document if isinstance(document, tuple) else judge_model_list(document, ctx.target.model)

    return await run_attempt(ctx.target.name, "models", work, timeout=ctx.timeout,
                             secret=ctx.api_key)


async def probe_completion(ctx: ProbeContext) -> ProbeResult:
    """POST a one-token completion; ok when the answer has a choice with a message or a
    finish reason. Usage tokens are recorded when reported."""
    payload = _payload(ctx, max_tokens=1)

    async def work(attempt: Attempt) -> tuple[str, str]:
        document = await fetch_json(ctx, attempt, _post_chat(ctx, attempt, payload))
        return document if isinstance(document, tuple) else _judge_completion(document, attempt)

    return await run_attempt(ctx.target.name, "completion", work, timeout=ctx.timeout,
                             secret=ctx.api_key)


async def probe_stream(ctx: ProbeContext) -> ProbeResult:
    """POST a streamed completion of at most `ctx.stream_max_tokens` tokens and read it.

    TTFT is the time from the request start to the first chunk with non-empty
    `delta.content`. The stream ends cleanly at `[DONE]` or after a `finish_reason`; ending
    before that is `stream_interrupted`, a clean end without content `empty_response`
    (except a reasoning model's `finish_reason: length`).
    """
    payload = {
        **_payload(ctx, max_tokens=ctx.stream_max_tokens),
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    async def work(attempt: Attempt) -> tuple[str, str]:
        state = _StreamState()
        failure = await read_stream(ctx, attempt, _post_chat(ctx, attempt, payload), iter_sse_data,
                                    lambda data: _apply_event(data, attempt, state))
        return failure or _judge_stream(attempt, state, reasoning=is_reasoning(ctx))

    return await run_attempt(ctx.target.name, "stream", work, timeout=ctx.timeout,
                             secret=ctx.api_key)


PROBES: dict[str, ProbeFn] = {
    "models": probe_models,
    "completion": probe_completion,
    "stream": probe_stream,
}


def judge_model_list(document: dict[str, object], model: str | None) -> tuple[str, str]:
    """ok when `data` is a non-empty list of objects with ids and names `model` (any model
    when None)."""
    data = document.get("data")
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise ProbeFailure("invalid_response", "data is not a list of model objects")
    ids = {m.get("id") for m in data}
    if not ids:
        return "empty_response", "the model list is empty"
    if model is not None and model not in ids:
        return "invalid_response", f"model {model!r} is not among the {len(ids)} models listed"
    return OK, ""


def is_reasoning(ctx: ProbeContext) -> bool:
    """Whether the target is a reasoning model: `reasoning` when set, else by model name."""
    target = ctx.target
    if target.reasoning is not None:
        return target.reasoning
    return bool(_REASONING_MODEL.match((target.model or "").rsplit("/", 1)[-1]))


def _payload(ctx: ProbeContext, *, max_tokens: int) -> dict[str, object]:
    target = ctx.target
    payload: dict[str, object] = {"messages": [{"role": "user", "content": "ping"}]}
    if target.protocol != "azure":
        payload["model"] = target.model
    if not is_reasoning(ctx):
        return {**payload, "max_tokens": max_tokens, "temperature": 0}
    model = (target.model or "").rsplit("/", 1)[-1]
    effort = target.reasoning_effort or ("minimal" if _MINIMAL_EFFORT_MODEL.match(model) else "low")
    return {**payload, "max_completion_tokens": max_tokens, "reasoning_effort": effort}


def _api_root(ctx: ProbeContext) -> str:
    """Where `/models` and `/chat/completions` live: the base URL itself, except for
    LM Studio, whose base URL is the server root."""
    return f"{ctx.base_url}/v1" if ctx.target.protocol == "lmstudio" else ctx.base_url


def _auth(ctx: ProbeContext) -> dict[str, str]:
    if not ctx.api_key:
        return {}
    if ctx.target.protocol == "azure":
        return {"api-key": ctx.api_key}
    return {"Authorization": f"Bearer {ctx.api_key}"}


def _post_chat(
    ctx: ProbeContext, attempt: Attempt, payload: dict[str, object]
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    target = ctx.target
    if target.protocol == "azure":
        url = f"{ctx.base_url}/openai/deployments/{target.model}/chat/completions"
        params = {"api-version": target.api_version or ""}
    else:
        url, params = f"{_api_root(ctx)}/chat/completions", None
    return send(ctx.client, attempt, "POST", url, timeout=ctx.timeout, headers=_auth(ctx),
                payload=payload, params=params)


def _judge_completion(document: dict[str, object], attempt: Attempt) -> tuple[str, str]:
    # Response shape: https://platform.openai.com/docs/api-reference/chat/object
    _record_usage(document, attempt)
    choices = _choices(document)
    if not choices:
        return "empty_response", "no choices in the response"
    if any(isinstance(c.get("message"), dict) or c.get("finish_reason") for c in choices):
        return OK, ""
    return "empty_response", "no choice has a message or a finish_reason"


class _StreamState:
    """What a stream showed besides the attempt's facts."""

    def __init__(self) -> None:
        self.events = 0
        self.finish_reason: str | None = None


def _apply_event(data: str, attempt: Attempt, state: _StreamState) -> bool:
    """Apply one event to the attempt; True when it is the final `[DONE]`."""
    # Chunk shape: https://platform.openai.com/docs/api-reference/chat-streaming/streaming
    state.events += 1
    if data.strip() == "[DONE]":
        attempt.stream_clean = True
        return True
    chunk = json_object(data, "event")
    _record_usage(chunk, attempt)
    choices = _choices(chunk)
    if any(_has_content(c) for c in choices):
        attempt.mark_content()
    for choice in choices:
        reason = choice.get("finish_reason")
        if reason:
            attempt.stream_clean = True
            state.finish_reason = str(reason)
    return False


def _judge_stream(attempt: Attempt, state: _StreamState, *, reasoning: bool) -> tuple[str, str]:
    if not attempt.stream_clean:
        if state.events == 0:
            return "invalid_response", "no server-sent events in the body"
        return (
            "stream_interrupted",
            (f"stream ended without [DONE] or finish_reason ({state.events} events, "
             f"{attempt.content_chunks} content chunks)"),
        )
    if attempt.content_chunks == 0:
        if reasoning and state.finish_reason == "length":
            return OK, ""
        return "empty_response", "stream ended without content"
    return OK, ""


def _has_content(choice: dict[str, object]) -> bool:
    delta = choice.get("delta")
    return (
        isinstance(delta, dict) and isinstance(delta.get("content"), str) and bool(delta["content"])
    )


def _choices(document: dict[str, object]) -> list[dict[str, object]]:
    """The `choices` list (empty when absent); `invalid_response` when it is malformed."""
    choices = document.get("choices")
    if choices is None:
        return []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise ProbeFailure("invalid_response", "choices is not a list of objects")
    return choices


def _record_usage(document: dict[str, object], attempt: Attempt) -> None:
    usage = document.get("usage")
    if not isinstance(usage, dict):
        return
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if is_count(prompt):
        attempt.input_tokens = prompt
    if is_count(completion):
        attempt.output_tokens = completion
