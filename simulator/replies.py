"""Answering one validated chat completion request: delays, faults and the reply body."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from simulator.behavior import ErrorKind, ModelBehavior
from simulator.chat_request import DEFAULT_MAX_TOKENS, ChatRequest
from simulator.faults import HTTP_FAULTS, TruncatedResponse, http_error, invalid_json, unavailable
from simulator.openai_shapes import Reply, completion, empty_completion
from simulator.recall import is_conversation, recalled
from simulator.stall import StalledResponse, stalled
from simulator.state import SimState
from simulator.streaming import CUT_AFTER_CHUNKS, STREAMS, StreamPlan

_VOCABULARY = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]

# Non-stream body per fault kind (None = no fault); HTTP faults are handled before.
_PLAIN: dict[str | None, Callable[[Reply], Response]] = {
    None: lambda reply: JSONResponse(completion(reply)),
    "stream_cut": lambda reply: TruncatedResponse(completion(reply)),
    "invalid_json": lambda _reply: invalid_json(),
    "empty": lambda reply: JSONResponse(empty_completion(reply)),
}


def build_reply(state: SimState, chat: ChatRequest, behavior: ModelBehavior) -> Reply:
    """The model's answer: in a conversation, what it recalls of the earlier turns
    (`simulator.recall`; the context is lost with `behavior.context_loss_rate`), else
    DEFAULT_MAX_TOKENS words; a token limit below the answer's length truncates it to exactly
    the limit with finish_reason "length" (at or below DEFAULT_MAX_TOKENS, for the latter)."""
    limit = chat.token_limit
    if is_conversation(chat):
        words = recalled(chat, lost=state.loses_context(behavior))
        hit_limit = limit is not None and limit < len(words)
    else:
        words = list(itertools.islice(itertools.cycle(_VOCABULARY), DEFAULT_MAX_TOKENS))
        hit_limit = limit is not None and limit <= DEFAULT_MAX_TOKENS
    return Reply(
        id=state.completion_id(),
        model=chat.model,
        created=int(time.time()),
        words=words[:limit] if hit_limit else words,
        prompt_tokens=chat.prompt_tokens(),
        finish_reason="length" if hit_limit else "stop",
    )


async def answer(
    request: Request,
    state: SimState,
    chat: ChatRequest,
    behavior: ModelBehavior,
    fault: ErrorKind | None,
) -> Response:
    """Respond to `chat` as `behavior` dictates, injecting `fault` if not None.

    A `timeout` fault first hangs for `hang_seconds` (ending early, with a 503, when the
    client disconnects or the server shuts down) and then answers normally.
    """
    if fault == "timeout":
        if not await state.waiter.sleep(behavior.hang_seconds, request):
            return unavailable()
        fault = None
    reply = build_reply(state, chat, behavior)
    if chat.stream:
        return await _stream(request, state, chat, behavior, fault, reply)
    if not await state.waiter.sleep(state.latency(behavior), request):
        return unavailable()
    if fault in HTTP_FAULTS:
        return http_error(fault)
    if fault == "stream_stall":
        return StalledResponse(completion(reply), behavior.hang_seconds, state.waiter)
    return _PLAIN[fault](reply)


async def _stream(
    request: Request,
    state: SimState,
    chat: ChatRequest,
    behavior: ModelBehavior,
    fault: ErrorKind | None,
    reply: Reply,
) -> Response:
    """HTTP faults answer with their status after the TTFT; everything else streams."""
    if fault in HTTP_FAULTS:
        if not await state.waiter.sleep(state.ttft(behavior), request):
            return unavailable()
        return http_error(fault)
    plan = StreamPlan(
        reply=reply,
        ttft=state.ttft(behavior),
        gap=1.0 / behavior.tokens_per_second,
        include_usage=chat.include_usage,
        waiter=state.waiter,
    )
    if fault == "stream_stall":  # the role chunk and CUT_AFTER_CHUNKS contents, then silence
        events = stalled(STREAMS[None](plan), 1 + CUT_AFTER_CHUNKS, behavior.hang_seconds,
                         state.waiter)
    else:
        events = STREAMS[fault](plan)
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )
