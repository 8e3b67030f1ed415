"""The Anthropic Messages protocol.

API reference: https://docs.anthropic.com/en/api/messages (request and message object),
https://docs.anthropic.com/en/docs/build-with-claude/streaming (stream events),
https://docs.anthropic.com/en/api/models-list (model list),
https://docs.anthropic.com/en/api/errors (error body and error types),
https://docs.anthropic.com/en/api/versioning (`anthropic-version` header).

Four probes with the shared call shape (`prober.context`): `models` lists models and checks
the target's model is among them (no tokens spent; an alias such as `…-latest` is not listed,
only full model ids are), `completion` asks for one token, `stream` for a few streamed tokens,
`context` holds a two-turn conversation (`prober.multiturn`).
The target's `base_url` is the API root without `/v1` (https://api.anthropic.com). A request
refused with a 400 that says how to fix it (a gateway that turns on extended thinking:
`temperature` only 1, `max_tokens` above the thinking budget) is sent again corrected, and
later probes send the corrected request (`prober.rejection`); one that cannot be corrected
is `probe_rejected`.
"""

from __future__ import annotations

import contextlib

import httpx

from prober import multiturn
from prober.attempt import Attempt, run_attempt
from prober.chat_shape import ChatShape
from prober.context import ProbeContext, ProbeFn
from prober.exchange import (
    PROVIDER_MESSAGE_LIMIT,
    fetch_json,
    is_count,
    json_object,
    read_stream,
    send,
)
from prober.openai import judge_model_list
from prober.outcome import OK, ProbeFailure, ProbeResult
from prober.refusal_texts import Rejection, Sent
from prober.rejection import judge_refusal, probe_with_corrections
from prober.sse import iter_sse_data

DEFAULT_VERSION = "2023-06-01"

ERROR_EVENT_OUTCOMES = {
    "rate_limit_error": "http_429",
    "overloaded_error": "http_5xx",
    "api_error": "http_5xx",
    "authentication_error": "auth",
    "permission_error": "auth",
    "invalid_request_error": "http_4xx",
    "not_found_error": "http_4xx",
    "request_too_large": "http_4xx",
}
"""The outcome of an in-stream `error` event by its error type (the same type an HTTP error
body would carry with the matching status); any other type is `stream_interrupted`."""


async def probe_models(ctx: ProbeContext) -> ProbeResult:
    """GET the model list (one page of up to 1000); ok when it names the target's model."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        url = f"{ctx.base_url}/v1/models"
        request = send(ctx.client, attempt, "GET", url, timeout=ctx.timeout,
                       headers=_headers(ctx), params={"limit": "1000"})
        document = await fetch_json(ctx, attempt, request)
        return document if isinstance(document, tuple) else judge_model_list(document, ctx.target.model)

    return await run_attempt(ctx.target.name, "models", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


async def probe_completion(ctx: ProbeContext) -> ProbeResult:
    """POST a one-token message (or the least the model takes); ok when the answer is a
    message with content blocks or a stop reason. Usage tokens are recorded when reported."""

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        sent = Sent(_payload(ctx, shape, own_tokens=1), shape, ctx.target)

        async def work(attempt: Attempt) -> tuple[str, str]:
            document = await fetch_json(ctx, attempt, _post_messages(ctx, attempt, sent.payload))
            if isinstance(document, tuple):
                return judge_refusal(document, attempt, sent, found)
            return _judge_message(document, attempt)

        return await run_attempt(ctx.target.name, "completion", work, timeout=timeout,
                                 secret=ctx.api_key, bounds=ctx.bounds)

    return await probe_with_corrections(ctx, "completion", attempt_with)


async def probe_stream(ctx: ProbeContext) -> ProbeResult:
    """POST a streamed message of at most `ctx.stream_max_tokens` tokens (or the least the
    model takes) and read it.

    TTFT is the time from the request start to the first non-empty `text_delta`. The stream
    ends cleanly at `message_stop`; ending before that is `stream_interrupted`, a clean end
    without text `empty_response`, an `error` event the outcome its error type maps to in
    `ERROR_EVENT_OUTCOMES`.
    """

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        payload = {**_payload(ctx, shape, own_tokens=ctx.stream_max_tokens), "stream": True}
        sent = Sent(payload, shape, ctx.target)

        async def work(attempt: Attempt) -> tuple[str, str]:
            state = _StreamState()
            failure = await read_stream(ctx, attempt, _post_messages(ctx, attempt, payload),
                                        iter_sse_data,
                                        lambda data: _apply_event(data, attempt, state))
            if failure:
                return judge_refusal(failure, attempt, sent, found)
            return _judge_stream(attempt, state)

        return await run_attempt(ctx.target.name, "stream", work, timeout=timeout,
                                 secret=ctx.api_key, bounds=ctx.bounds)

    return await probe_with_corrections(ctx, "stream", attempt_with)


async def probe_context(ctx: ProbeContext) -> ProbeResult:
    """The two-turn `context` probe (`prober.multiturn`): each turn a message of at most
    `multiturn.TURN_TOKENS` tokens (or the least the model takes), refusals corrected as for
    `completion`."""
    number = multiturn.new_number()

    async def attempt_with(shape: ChatShape, found: list[Rejection], timeout: float) -> ProbeResult:
        async def turn(attempt: Attempt, messages: multiturn.Messages) -> str | tuple[str, str]:
            payload = {**_payload(ctx, shape, own_tokens=multiturn.TURN_TOKENS), "messages": messages}
            sent = Sent(payload, shape, ctx.target)
            document = await fetch_json(ctx, attempt, _post_messages(ctx, attempt, payload))
            if isinstance(document, tuple):
                return judge_refusal(document, attempt, sent, found)
            return _message_text(document, attempt)

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


def _headers(ctx: ProbeContext) -> dict[str, str]:
    headers = {"anthropic-version": ctx.target.api_version or DEFAULT_VERSION}
    if ctx.api_key:
        headers["x-api-key"] = ctx.api_key
    return headers


def _payload(ctx: ProbeContext, shape: ChatShape, *, own_tokens: int) -> dict[str, object]:
    """The Messages request of `shape`: `max_tokens` is the larger of `own_tokens` and the
    shape's least; `temperature: 0` unless a rejection removed it."""
    payload: dict[str, object] = {"model": ctx.target.model, "max_tokens": shape.budget(own_tokens)}
    if shape.temperature:
        payload["temperature"] = 0
    return {**payload, "messages": [{"role": "user", "content": "ping"}]}


def _post_messages(
    ctx: ProbeContext, attempt: Attempt, payload: dict[str, object]
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    return send(ctx.client, attempt, "POST", f"{ctx.base_url}/v1/messages", timeout=ctx.timeout,
                headers=_headers(ctx), payload=payload)


def _judge_message(document: dict[str, object], attempt: Attempt) -> tuple[str, str]:
    # The message object: https://docs.anthropic.com/en/api/messages
    if document.get("type") != "message":
        return "invalid_response", f"body is not a message object (type {document.get('type')!r})"
    _record_usage(document.get("usage"), attempt)
    content = document.get("content")
    if not isinstance(content, list) or not all(isinstance(block, dict) for block in content):
        return "invalid_response", "content is not a list of content blocks"
    if content or document.get("stop_reason"):
        return OK, ""
    return "empty_response", "the message has no content blocks and no stop_reason"


def _message_text(document: dict[str, object], attempt: Attempt) -> str | tuple[str, str]:
    """The text blocks of a message joined ("" when it has none), or the failure
    `_judge_message` finds in it."""
    outcome, detail = _judge_message(document, attempt)
    if outcome != OK:
        return outcome, detail
    blocks = document.get("content") or []
    return "".join(str(block.get("text", "")) for block in blocks if block.get("type") == "text")


class _StreamState:
    """What a stream showed besides the attempt's facts."""

    def __init__(self) -> None:
        self.events = 0
        self.stop_reason: str | None = None


def _apply_event(data: str, attempt: Attempt, state: _StreamState) -> bool:
    """Apply one event to the attempt; True when it is the final `message_stop`. Event types
    not listed here (`content_block_start`, `content_block_stop`, `ping`, future ones) carry
    nothing a probe needs."""
    state.events += 1
    event = json_object(data, "event")
    kind = event.get("type")
    if kind == "message_start":
        message = event.get("message")
        if isinstance(message, dict):
            _record_usage(message.get("usage"), attempt)
    elif kind == "content_block_delta":
        if _is_text(event.get("delta")):
            attempt.mark_content()
    elif kind == "message_delta":
        _record_usage(event.get("usage"), attempt)
        delta = event.get("delta")
        if isinstance(delta, dict) and delta.get("stop_reason"):
            state.stop_reason = str(delta["stop_reason"])
    elif kind == "message_stop":
        attempt.stream_clean = True
        return True
    elif kind == "error":
        raise _error_event(event.get("error"))
    return False


def _is_text(delta: object) -> bool:
    return (
        isinstance(delta, dict)
        and delta.get("type") == "text_delta"
        and isinstance(delta.get("text"), str)
        and bool(delta["text"])
    )


def _error_event(error: object) -> ProbeFailure:
    """The failure an in-stream `error` event means (see `ERROR_EVENT_OUTCOMES`)."""
    error = error if isinstance(error, dict) else {}
    error_type, message = error.get("type"), error.get("message")
    outcome = ERROR_EVENT_OUTCOMES.get(str(error_type), "stream_interrupted")
    detail = f"error event {error_type!r}"
    if isinstance(message, str) and message.strip():
        detail += f": {' '.join(message.split())[:PROVIDER_MESSAGE_LIMIT]}"
    return ProbeFailure(outcome, detail)


def _judge_stream(attempt: Attempt, state: _StreamState) -> tuple[str, str]:
    if not attempt.stream_clean:
        if state.events == 0:
            return "invalid_response", "no server-sent events in the body"
        return (
            "stream_interrupted",
            (f"stream ended without message_stop ({state.events} events, "
             f"{attempt.content_chunks} text deltas)"),
        )
    if attempt.content_chunks == 0:
        return "empty_response", f"stream ended without text (stop_reason {state.stop_reason})"
    return OK, ""


def _record_usage(usage: object, attempt: Attempt) -> None:
    """Token counts of a `usage` object; a later one (`message_delta`) overrides an earlier
    one (`message_start`), as the API reports cumulative counts."""
    if not isinstance(usage, dict):
        return
    input_tokens, output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
    if is_count(input_tokens):
        attempt.input_tokens = input_tokens
    if is_count(output_tokens):
        attempt.output_tokens = output_tokens
