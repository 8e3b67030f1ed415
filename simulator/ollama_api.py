"""Ollama's native API under `/ollama`, driven by the same `ModelBehavior` as the OpenAI API.

Every simulated model is installed (listed by `/api/tags`, with a `:latest` tag when its name
has none; either spelling reaches it). A chat request loads its model (listed by `/api/ps`
from then on); `/api/generate` with `keep_alive: 0` and no prompt unloads it, the only use of
that endpoint the simulator supports. Faults take Ollama's shapes: HTTP faults are their
status with `{"error": "..."}`, `stream_cut` ends the NDJSON before `done: true` and drops the
connection, `invalid_json` sends a line that does not parse, `empty` finishes without content,
`timeout` hangs for `hang_seconds` first.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse, Response, StreamingResponse

from simulator import ollama_shapes as shapes
from simulator.behavior import ErrorKind, ModelBehavior
from simulator.chat_request import ChatMessage, ChatRequest
from simulator.faults import HTTP_FAULTS, INVALID_JSON, TruncatedResponse, invalid_json
from simulator.openai_shapes import Reply
from simulator.replies import build_reply
from simulator.stall import StalledResponse, stalled
from simulator.state import SimState
from simulator.streaming import CUT_AFTER_CHUNKS
from simulator.waiting import ConnectionCut, Waiter

# Status and message of each HTTP fault, as Ollama (or a proxy in front of it) words them.
_HTTP_FAULTS = {
    "http_500": (500, "llama runner process has terminated: exit status 2 (simulated)"),
    "http_429": (429, "too many requests, please try again later (simulated)"),
    "http_401": (401, "unauthorized (simulated)"),
}
_ZERO_DURATION = re.compile(r"0+(\.0*)?(ns|us|ms|s|m|h)?")


class _Options(BaseModel):
    model_config = ConfigDict(extra="allow")

    num_predict: int | None = None


class _ChatBody(BaseModel):
    """The part of an `/api/chat` request the simulator reads. `stream` defaults to true, as
    in Ollama; `num_predict` below 1 (-1 endless, -2 fill the context) means no limit."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = True
    options: _Options = _Options()


class _GenerateBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    prompt: str | None = None
    keep_alive: float | str | None = None


def ollama_router(sim: SimState) -> APIRouter:
    """`GET /ollama/api/version`, `/ollama/api/tags`, `/ollama/api/ps`, `POST /ollama/api/chat`
    and the unload form of `POST /ollama/api/generate`."""
    router = APIRouter(prefix="/ollama")

    @router.get("/api/version")
    async def version() -> dict:
        return {"version": shapes.VERSION}

    @router.get("/api/tags")
    async def tags() -> dict:
        return shapes.tags(sim.names(), sim.created)

    @router.get("/api/ps")
    async def ps() -> dict:
        return shapes.running(sim.resident)

    @router.post("/api/chat")
    async def chat(request: Request) -> Response:
        try:
            body = _ChatBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(400, _first_problem(exc))
        name = _resolve(sim, body.model)
        if name is None:
            return _not_found(body.model)
        behavior = sim.effective(name)
        cold = name not in sim.resident
        sim.resident[name] = time.time()
        fault = sim.draw_fault(name, behavior)
        return await _answer(request, sim, _Chat(body, name, cold), behavior, fault)

    @router.post("/api/generate")
    async def generate(request: Request) -> Response:
        try:
            body = _GenerateBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(400, _first_problem(exc))
        if body.prompt or not _is_zero(body.keep_alive):
            return _error(501, 'the simulator only unloads here: {"model": ..., "keep_alive": 0}')
        name = _resolve(sim, body.model)
        if name is None:
            return _not_found(body.model)
        sim.resident.pop(name, None)
        return JSONResponse(shapes.unloaded(body.model))

    return router


@dataclass(frozen=True)
class _Chat:
    """One accepted chat request: its body, the served model it names, whether that model
    had to be loaded for it."""

    body: _ChatBody
    name: str
    cold: bool

    def reply(self, sim: SimState, behavior: ModelBehavior) -> Reply:
        limit = self.body.options.num_predict
        request = ChatRequest(model=self.body.model, messages=self.body.messages,
                              max_tokens=limit if limit is not None and limit > 0 else None)
        return build_reply(sim, request, behavior)

    def timings(self, before_first_token: float, generating: float) -> shapes.Timings:
        """Prompt evaluation takes the time before the first token; for a model that had to
        be loaded, half of that is reported as load time."""
        load = before_first_token / 2 if self.cold else 0.0
        return shapes.Timings(load, before_first_token - load, generating)


async def _answer(
    request: Request, sim: SimState, chat: _Chat, behavior: ModelBehavior, fault: ErrorKind | None
) -> Response:
    if fault == "timeout":
        if not await sim.waiter.sleep(behavior.hang_seconds, request):
            return _error(503, "the simulator is shutting down")
        fault = None
    reply = chat.reply(sim, behavior)
    delay = sim.ttft(behavior) if chat.body.stream else sim.latency(behavior)
    per_token = 1.0 / behavior.tokens_per_second
    waits_here = fault in HTTP_FAULTS or not chat.body.stream  # a stream waits in its body
    if waits_here and not await sim.waiter.sleep(delay, request):
        return _error(503, "the simulator is shutting down")
    if fault in HTTP_FAULTS:
        status, message = _HTTP_FAULTS[fault]
        return _error(status, message)
    if not chat.body.stream:
        generating = min(delay / 2, len(reply.words) * per_token)
        timings = chat.timings(delay - generating, generating)
        done = shapes.chat_done(chat.body.model, reply, timings, content=reply.content)
        if fault == "stream_stall":
            return StalledResponse(done, behavior.hang_seconds, sim.waiter)
        return _PLAIN[fault](done)
    plan = _StreamPlan(chat.body.model, reply, delay, per_token,
                       chat.timings(delay, len(reply.words) * per_token), sim.waiter)
    if fault == "stream_stall":  # CUT_AFTER_CHUNKS lines, then silence
        lines = stalled(_success_lines(plan), CUT_AFTER_CHUNKS, behavior.hang_seconds, sim.waiter)
    else:
        lines = _STREAMS[fault](plan)
    return StreamingResponse(lines, media_type="application/x-ndjson")


# Non-stream body per fault kind (None = no fault); HTTP faults are handled before.
_PLAIN: dict[str | None, Callable[[dict], Response]] = {
    None: JSONResponse,
    "stream_cut": TruncatedResponse,
    "invalid_json": lambda _answer: invalid_json(),
    "empty": lambda answer: JSONResponse(shapes.chat_without_message(answer["model"])),
}


@dataclass(frozen=True)
class _StreamPlan:
    model: str
    reply: Reply
    ttft: float
    gap: float
    timings: shapes.Timings
    waiter: Waiter

    async def contents(self, limit: int | None = None) -> AsyncIterator[bytes]:
        """The first line after the TTFT, then one line every `gap` (at most `limit`)."""
        await self.waiter.pause(self.ttft)
        for index, delta in enumerate(self.reply.deltas()[:limit]):
            if index:
                await self.waiter.pause(self.gap)
            yield shapes.ndjson(shapes.chat_line(self.model, delta))

    def done(self) -> bytes:
        return shapes.ndjson(shapes.chat_done(self.model, self.reply, self.timings))


async def _success_lines(plan: _StreamPlan) -> AsyncIterator[bytes]:
    async for line in plan.contents():
        yield line
    yield plan.done()


async def _cut_lines(plan: _StreamPlan) -> AsyncIterator[bytes]:
    async for line in plan.contents(CUT_AFTER_CHUNKS):
        yield line
    raise ConnectionCut("stream cut")


async def _invalid_lines(plan: _StreamPlan) -> AsyncIterator[bytes]:
    await plan.waiter.pause(plan.ttft)
    yield INVALID_JSON.encode() + b"\n"
    yield plan.done()


async def _empty_lines(plan: _StreamPlan) -> AsyncIterator[bytes]:
    await plan.waiter.pause(plan.ttft)
    empty = Reply(plan.reply.id, plan.model, plan.reply.created, [], plan.reply.prompt_tokens,
                  "stop")
    timings = shapes.Timings(plan.timings.load, plan.timings.prompt_eval, 0.0)
    yield shapes.ndjson(shapes.chat_done(plan.model, empty, timings))


# Stream body per fault kind (None = no fault); HTTP faults never reach a stream body.
_STREAMS: dict[str | None, Callable[[_StreamPlan], AsyncIterator[bytes]]] = {
    None: _success_lines,
    "stream_cut": _cut_lines,
    "invalid_json": _invalid_lines,
    "empty": _empty_lines,
}


def _resolve(sim: SimState, requested: str) -> str | None:
    """The served model `requested` names, with or without its `:latest` tag."""
    wanted = shapes.tagged(requested)
    return next((name for name in sim.names() if shapes.tagged(name) == wanted), None)


def _is_zero(keep_alive: float | str | None) -> bool:
    if isinstance(keep_alive, str):
        return _ZERO_DURATION.fullmatch(keep_alive) is not None
    return keep_alive == 0


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _not_found(model: str) -> JSONResponse:
    return _error(404, f'model "{model}" not found, try pulling it first')


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(shapes.error(message), status_code=status)
