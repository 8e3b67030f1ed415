"""An Anthropic Messages API beside the OpenAI one, under `/anthropic`.

The same `ModelBehavior` drives both: latency, TTFT, tokens per second and injected faults,
here in Anthropic's shapes (`simulator.anthropic_shapes`): `http_500` is a 500 `api_error`,
`http_429` a 429 `rate_limit_error` with `retry-after` and rate-limit headers, `http_401` a
401 `authentication_error`, `timeout` hangs, `stream_cut` drops the connection before
`message_stop` (mid-body without streaming), `invalid_json` sends an unparseable body or
event, `empty` a message without content blocks. Like the real API, every request needs an
`anthropic-version` header (400 `invalid_request_error` without a valid one) and an unknown
model is a 404 `not_found_error`. A request that breaks the model's request rules (extended
thinking turned on by a gateway: `simulator.refusals`) is refused with Anthropic's 400. A model
with a `rate_limit` reports it in `anthropic-ratelimit-*` headers and refuses a request over it
with a 429 `rate_limit_error` (`simulator.quota`); the others report a fixed headroom.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from simulator.anthropic_shapes import (
    REQUESTS_PER_MINUTE,
    STOP_REASONS,
    content_block_start,
    content_block_stop,
    error_body,
    event,
    message,
    message_delta,
    message_start,
    model_list,
    rate_limit_headers,
    raw_event,
    text_delta,
)
from simulator.behavior import ErrorKind, ModelBehavior
from simulator.chat_request import ChatRequest
from simulator.errors import ApiError
from simulator.faults import HTTP_FAULTS, INVALID_JSON, TruncatedResponse, invalid_json
from simulator.openai_shapes import Reply
from simulator.quota import anthropic_exceeded
from simulator.refusals import anthropic_refusal
from simulator.replies import build_reply
from simulator.stall import StalledResponse, stalled
from simulator.state import SimState
from simulator.streaming import CUT_AFTER_CHUNKS
from simulator.waiting import ConnectionCut, Waiter

VERSIONS = ("2023-01-01", "2023-06-01")
"""The `anthropic-version` values the API accepts (https://docs.anthropic.com/en/api/versioning)."""

# Status, error type and message of each HTTP fault.
_HTTP_FAULTS = {
    "http_500": (500, "api_error", "Internal server error (simulated)."),
    "http_429": (429, "rate_limit_error", "Rate limit exceeded (simulated)."),
    "http_401": (401, "authentication_error", "invalid x-api-key (simulated)"),
}


class AnthropicError(ApiError):
    """An API error in Anthropic's shape; the app's `ApiError` handler renders it."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(status, message, type_, None)
        self.body = error_body(type_, message)


class MessagesRequest(ChatRequest):
    """A Messages request: a chat request whose `max_tokens` is required. `system` and other
    parameters are accepted and ignored."""

    max_tokens: int = Field(ge=1)


def anthropic_router(sim: SimState) -> APIRouter:
    """Routes GET /anthropic/v1/models and POST /anthropic/v1/messages over `sim`'s models."""
    router = APIRouter(prefix="/anthropic", dependencies=[Depends(_require_version)])

    @router.get("/v1/models")
    async def list_models() -> dict:
        """Anthropic model list of every served model, in one page."""
        return model_list(sim.names(), sim.created)

    @router.post("/v1/messages")
    async def messages(request: Request) -> Response:
        """Anthropic Messages, stream or not, with the model's faults injected."""
        body = await request.body()
        chat = _parse(body)
        if chat.model not in sim.names():
            raise AnthropicError(404, "not_found_error", f"model: {chat.model}")
        behavior = sim.effective(chat.model)
        sim.record_request(chat.model, body)
        refusal = anthropic_refusal(behavior.rules, chat)
        if refusal is not None:
            sim.count_refused(chat.model)
            return refusal
        admission = sim.admit(chat.model, behavior, chat)
        if admission is not None and not admission.admitted:
            return anthropic_exceeded(admission)
        fault = sim.draw_fault(chat.model, behavior)
        response = await _answer(request, sim, chat, behavior, fault)
        if admission is not None:  # the model's own limit instead of the fixed headroom
            response.headers.update(admission.anthropic_headers())
        return response

    return router


async def _require_version(anthropic_version: Annotated[str | None, Header()] = None) -> None:
    if anthropic_version is None:
        raise AnthropicError(400, "invalid_request_error", "anthropic-version: header is required")
    if anthropic_version not in VERSIONS:
        raise AnthropicError(
            400, "invalid_request_error", f'anthropic-version: "{anthropic_version}" is not a '
            "valid version"
        )


def _parse(body: bytes) -> MessagesRequest:
    try:
        return MessagesRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise AnthropicError(400, "invalid_request_error", f"{where}: {first['msg']}") from exc


async def _answer(
    request: Request,
    sim: SimState,
    chat: MessagesRequest,
    behavior: ModelBehavior,
    fault: ErrorKind | None,
) -> Response:
    """Like `simulator.replies.answer`: a `timeout` fault hangs for `hang_seconds` first (a
    529 when cut short by shutdown or the client leaving); HTTP faults answer after the
    latency (TTFT for a stream); everything else is a 200 in Anthropic's shapes."""
    if fault == "timeout":
        if not await sim.waiter.sleep(behavior.hang_seconds, request):
            return _overloaded()
        fault = None
    reply = build_reply(sim, chat, behavior)
    if chat.stream and fault not in HTTP_FAULTS:
        stream = _Stream(reply, sim.ttft(behavior), 1.0 / behavior.tokens_per_second, sim.waiter)
        headers = {"cache-control": "no-cache", **_headroom()}
        if fault == "stream_stall":  # the three opening events and CUT_AFTER_CHUNKS deltas
            events = stalled(_success_events(stream), 3 + CUT_AFTER_CHUNKS, behavior.hang_seconds,
                             sim.waiter)
        else:
            events = _STREAMS[fault](stream)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    if not await sim.waiter.sleep(sim.ttft(behavior) if chat.stream else sim.latency(behavior),
                                  request):
        return _overloaded()
    if fault in HTTP_FAULTS:
        return _http_error(fault)
    if fault == "stream_stall":
        response: Response = StalledResponse(message(reply), behavior.hang_seconds, sim.waiter)
    else:
        response = _PLAIN[fault](reply)
    response.headers.update(_headroom())
    return response


def _headroom() -> dict[str, str]:
    """Rate-limit headers of an admitted request: one request used, replenished in
    60/REQUESTS_PER_MINUTE seconds."""
    return rate_limit_headers(REQUESTS_PER_MINUTE - 1, 60 / REQUESTS_PER_MINUTE)


def _http_error(kind: str) -> JSONResponse:
    status, type_, text = _HTTP_FAULTS[kind]
    headers = {"retry-after": "1", **rate_limit_headers(0, 1.0)} if kind == "http_429" else None
    return JSONResponse(error_body(type_, text), status_code=status, headers=headers)


def _overloaded() -> JSONResponse:
    """529 for a request abandoned because the server is shutting down (or the client left)."""
    return JSONResponse(error_body("overloaded_error", "Overloaded"), status_code=529)


# Non-stream body per fault kind (None = no fault); HTTP faults are handled before.
_PLAIN: dict[str | None, Callable[[Reply], Response]] = {
    None: lambda reply: JSONResponse(message(reply)),
    "stream_cut": lambda reply: TruncatedResponse(message(reply)),
    "invalid_json": lambda _reply: invalid_json(),
    "empty": lambda reply: JSONResponse(message(reply, empty=True)),
}


@dataclass(frozen=True)
class _Stream:
    """Inputs of one stream: the reply and its timing."""

    reply: Reply
    ttft: float
    gap: float
    waiter: Waiter

    async def opening(self) -> AsyncIterator[bytes]:
        """After the TTFT: `message_start`, `content_block_start` and a `ping`."""
        await self.waiter.pause(self.ttft)
        yield event(message_start(self.reply))
        yield event(content_block_start())
        yield event({"type": "ping"})

    async def deltas(self, limit: int | None = None) -> AsyncIterator[bytes]:
        """`text_delta` events (at most `limit`), 1/tokens_per_second apart."""
        for index, delta in enumerate(self.reply.deltas()[:limit]):
            if index:
                await self.waiter.pause(self.gap)
            yield event(text_delta(delta))


async def _success_events(stream: _Stream) -> AsyncIterator[bytes]:
    """The documented order: message_start, content_block_start, ping, content_block_delta…,
    content_block_stop, message_delta, message_stop."""
    async for chunk in stream.opening():
        yield chunk
    async for chunk in stream.deltas():
        yield chunk
    reply = stream.reply
    yield event(content_block_stop())
    yield event(message_delta(STOP_REASONS[reply.finish_reason], len(reply.words)))
    yield event({"type": "message_stop"})


async def _cut_events(stream: _Stream) -> AsyncIterator[bytes]:
    """A stream that starts normally and loses its connection after CUT_AFTER_CHUNKS deltas."""
    async for chunk in stream.opening():
        yield chunk
    async for chunk in stream.deltas(CUT_AFTER_CHUNKS):
        yield chunk
    raise ConnectionCut("stream cut")


async def _invalid_json_events(stream: _Stream) -> AsyncIterator[bytes]:
    """A `message_start` whose data does not parse, then `message_stop`."""
    await stream.waiter.pause(stream.ttft)
    yield raw_event("message_start", INVALID_JSON)
    yield event({"type": "message_stop"})


async def _empty_events(stream: _Stream) -> AsyncIterator[bytes]:
    """A complete message without content blocks."""
    await stream.waiter.pause(stream.ttft)
    yield event(message_start(stream.reply))
    yield event(message_delta("end_turn", 0))
    yield event({"type": "message_stop"})


# Stream body per fault kind (None = no fault); HTTP faults never reach a stream body.
_STREAMS: dict[str | None, Callable[[_Stream], AsyncIterator[bytes]]] = {
    None: _success_events,
    "stream_cut": _cut_events,
    "invalid_json": _invalid_json_events,
    "empty": _empty_events,
}
