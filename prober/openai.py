"""The OpenAI-compatible protocol: OpenAI, Azure OpenAI, vLLM, OpenRouter, LiteLLM, Portkey,
and LM Studio's OpenAI-compatible chat.

API reference: https://platform.openai.com/docs/api-reference/chat/create and
https://platform.openai.com/docs/api-reference/models/list; Azure OpenAI:
https://learn.microsoft.com/azure/ai-foundry/openai/reference (deployment path,
`api-version` query parameter, `api-key` header).

Four probes with the shared call shape (`prober.context`): `models` lists models and checks
the target's model is among them (no tokens spent), `completion` asks for one token, `stream`
for a few streamed tokens, `context` holds a two-turn conversation (`prober.multiturn`). Reasoning models (o-series, gpt-5, or `reasoning: true`) get
`max_completion_tokens`, the least token limit and the smallest reasoning effort of their
family instead of `max_tokens` and `temperature` (`prober.chat_shape`), and a clean end with
`finish_reason: length` and no visible content counts as ok: the budget went to reasoning,
the model is up. A request the model refuses with a 400 that says how to fix it is sent
again corrected, and later probes of the target send the corrected request
(`prober.rejection`); one that cannot be corrected is `probe_rejected`.
"""

from __future__ import annotations

import contextlib

import httpx

from prober import chat_shape, multiturn
from prober.attempt import Attempt, run_attempt
from prober.chat_shape import ChatShape
from prober.context import ProbeContext, ProbeFn
from prober.exchange import fetch_json, is_count, json_object, read_stream, send
from prober.outcome import OK, ProbeFailure, ProbeResult
from prober.refusal_texts import Rejection, Sent
from prober.rejection import judge_refusal, probe_with_corrections
from prober.sse import iter_sse_data


async def probe_models(ctx: ProbeContext) -> ProbeResult:
    """GET the model list; ok when it parses and names the target's model."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        url = f"{_api_root(ctx)}/models"
        request = send(ctx.client, attempt, "GET", url, timeout=ctx.timeout, headers=_auth(ctx))
        document = await fetch_json(ctx, attempt, request)
        return document if isinstance(document, tuple) else judge_model_list(document, ctx.target.model)

    return await run_attempt(ctx.target.name, "models", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


async def probe_completion(ctx: ProbeContext) -> ProbeResult:
    """POST a one-token completion (or the least the model takes); ok when the answer has a
    choice with a message or a finish reason. Usage tokens are recorded when reported."""

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        sent = Sent(_payload(ctx, shape, own_tokens=1), shape, ctx.target)

        async def work(attempt: Attempt) -> tuple[str, str]:
            document = await fetch_json(ctx, attempt, _post_chat(ctx, attempt, sent.payload))
            if isinstance(document, tuple):
                return judge_refusal(document, attempt, sent, found)
            return _judge_completion(document, attempt)

        return await run_attempt(ctx.target.name, "completion", work, timeout=timeout,
                                 secret=ctx.api_key, bounds=ctx.bounds)

    return await probe_with_corrections(ctx, "completion", attempt_with)


async def probe_stream(ctx: ProbeContext) -> ProbeResult:
    """POST a streamed completion of at most `ctx.stream_max_tokens` tokens (or the least
    the model takes) and read it.

    TTFT is the time from the request start to the first chunk with non-empty
    `delta.content`. The stream ends cleanly at `[DONE]` or after a `finish_reason`; ending
    before that is `stream_interrupted`, a clean end without content `empty_response`
    (except a reasoning model's `finish_reason: length`).
    """

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        payload = {**_payload(ctx, shape, own_tokens=ctx.stream_max_tokens), "stream": True}
        if shape.stream_options:
            payload["stream_options"] = {"include_usage": True}
        sent = Sent(payload, shape, ctx.target)
        reasoning = (chat_shape.is_reasoning(ctx.target)
                     or shape.token_parameter == "max_completion_tokens")

        async def work(attempt: Attempt) -> tuple[str, str]:
            state = _StreamState()
            failure = await read_stream(ctx, attempt, _post_chat(ctx, attempt, payload),
                                        iter_sse_data,
                                        lambda data: _apply_event(data, attempt, state))
            if failure:
                return judge_refusal(failure, attempt, sent, found)
            return _judge_stream(attempt, state, reasoning=reasoning)

        return await run_attempt(ctx.target.name, "stream", work, timeout=timeout,
                                 secret=ctx.api_key, bounds=ctx.bounds)

    return await probe_with_corrections(ctx, "stream", attempt_with)


async def probe_context(ctx: ProbeContext) -> ProbeResult:
    """The two-turn `context` probe (`prober.multiturn`): each turn a non-streamed completion
    of at most `multiturn.TURN_TOKENS` tokens (or the least the model takes), refusals
    corrected as for `completion`."""
    number = multiturn.new_number()

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        async def turn(attempt: Attempt, messages: multiturn.Messages) -> str | tuple[str, str]:
            payload = {**_payload(ctx, shape, own_tokens=multiturn.TURN_TOKENS), "messages": messages}
            sent = Sent(payload, shape, ctx.target)
            document = await fetch_json(ctx, attempt, _post_chat(ctx, attempt, payload))
            if isinstance(document, tuple):
                return judge_refusal(document, attempt, sent, found)
            return _answer_text(document, attempt)

        async def work(attempt: Attempt) -> tuple[str, str]:
            return await multiturn.converse(attempt, number, lambda messages: turn(attempt, messages))

        return await run_attempt(ctx.target.name, "context", work, timeout=timeout,
                                 secret=ctx.api_key, bounds=ctx.bounds)

    return await probe_with_corrections(ctx, "context", attempt_with)


PROBES: dict[str, ProbeFn] = {
    "models": probe_models,
    "completion": probe_completion,
    "stream": probe_stream,
    "context": probe_context,
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


def _payload(ctx: ProbeContext, shape: ChatShape, *, own_tokens: int) -> dict[str, object]:
    """The chat request of `shape`; its token limit is the larger of `own_tokens` and the
    shape's least."""
    payload: dict[str, object] = {"messages": [{"role": "user", "content": "ping"}]}
    if ctx.target.protocol != "azure":
        payload["model"] = ctx.target.model
    payload[shape.token_parameter] = shape.budget(own_tokens)
    if shape.temperature:
        payload["temperature"] = 0
    if shape.effort is not None:
        payload["reasoning_effort"] = shape.effort
    return payload


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


def _answer_text(document: dict[str, object], attempt: Attempt) -> str | tuple[str, str]:
    """The first choice's message text ("" when it has none, e.g. a reasoning model that spent
    its limit), or the failure of an answer without choices."""
    _record_usage(document, attempt)
    choices = _choices(document)
    if not choices:
        return "empty_response", "no choices in the response"
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if message is None and not choices[0].get("finish_reason"):
        return "empty_response", "the choice has no message or finish_reason"
    return ""


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
