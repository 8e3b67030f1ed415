"""The OpenAI chat route's answer, shared by `/v1/chat/completions` and Azure's deployment
route: the model's request rules, then its rate limit, then its faults."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator.chat_request import ChatRequest
from simulator.quota import openai_exceeded
from simulator.refusals import openai_refusal
from simulator.replies import answer
from simulator.state import SimState


async def chat_response(request: Request, sim: SimState, chat: ChatRequest, body: bytes) -> Response:
    """Answer `chat` (whose raw `body` is recorded): a 400 for a request the model refuses, a
    429 for one its rate limit refuses, else the reply with the model's faults injected and,
    for a rate-limited model, the rate-limit headers."""
    behavior = sim.effective(chat.model)
    sim.record_request(chat.model, body)
    refusal = openai_refusal(behavior.rules, chat)
    if refusal is not None:
        sim.count_refused(chat.model)
        return refusal
    admission = sim.admit(chat.model, behavior, chat)
    if admission is not None and not admission.admitted:
        return openai_exceeded(admission)
    fault = sim.draw_fault(chat.model, behavior)
    response = await answer(request, sim, chat, behavior, fault)
    if admission is not None:
        response.headers.update(admission.openai_headers())
    return response
