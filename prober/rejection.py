"""A probe the model refused is our problem, not an outage.

`prober.refusal_texts` recognises the 400s that mean "this request was refused" and, where
the provider says how, the corrected `ChatShape`. `probe_with_corrections` runs a chat probe
and, while the provider refuses it and says how to fix it, retries with the corrected request
(within the probe's timeout, at most `MAX_ATTEMPTS` requests), keeping each correction in the target's memory so later
probes send it from the start. The probe counts as its last attempt. A request that cannot
be corrected ends the probe as `probe_rejected`, and one warning per target and cause tells
the operator what to change. Every other 400 keeps its error type (`http_4xx`).

The texts, their sources and the corrections: `prober.refusal_texts`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace

from prober.attempt import DETAIL_LIMIT, Attempt, redact
from prober.chat_shape import ChatShape, ShapeMemory, initial_shape
from prober.context import ProbeContext
from prober.outcome import ProbeResult
from prober.refusal_texts import Rejection, Sent, recognise

log = logging.getLogger("prober")

REJECTED = "probe_rejected"
MAX_ATTEMPTS = 4
"""Requests one probe may send: the first and up to three corrections."""


def judge_refusal(
    failure: tuple[str, str], attempt: Attempt, sent: Sent, found: list[Rejection]
) -> tuple[str, str]:
    """`failure` (the error type and detail of an HTTP error status) as it is, or
    `probe_rejected` when the status is 400 and its body names a parameter of `sent`; the
    rejection is appended to `found`."""
    if attempt.http_status != 400 or attempt.error_body is None:
        return failure
    rejection = recognise(attempt.error_body, sent)
    if rejection is None:
        return failure
    found.append(rejection)
    return REJECTED, rejection.detail()


AttemptFn = Callable[[ChatShape, list[Rejection], float], Awaitable[ProbeResult]]
"""One request of a chat probe: sends `shape` within the timeout given, appends to the list
the rejection it met (`judge_refusal`) and returns its result."""


async def probe_with_corrections(ctx: ProbeContext, kind: str, attempt: AttemptFn) -> ProbeResult:
    """Run `attempt` from the target's learned shape (or its initial one) and retry it with
    each correction a rejection states, as long as it is one this probe has not sent, the
    probe has sent fewer than `MAX_ATTEMPTS` requests and time remains of `ctx.timeout`.
    The result is the last attempt's, with the bytes of every attempt."""
    initial = initial_shape(ctx.target)
    shape = ctx.memory.shape or initial
    deadline = time.monotonic() + ctx.timeout
    tried = [shape]
    sent_bytes = received_bytes = 0
    timeout = ctx.timeout
    while True:
        found: list[Rejection] = []
        result = await attempt(shape, found, timeout)
        sent_bytes += result.bytes_sent
        received_bytes += result.bytes_received
        if result.outcome != REJECTED or not found:
            break
        rejection = found[0]
        corrected = rejection.corrected
        if corrected is None or corrected in tried:
            result = replace(result, detail=_clip(_unfixable(rejection, corrected), ctx))
            _warn_once(ctx, kind, rejection, corrected)
            break
        _learn(ctx.memory, shape, corrected, initial)
        _warn_once(ctx, kind, rejection, None)
        timeout = deadline - time.monotonic()
        if len(tried) >= MAX_ATTEMPTS or timeout <= 0:
            break
        tried.append(corrected)
        shape = corrected
    return replace(result, bytes_sent=sent_bytes, bytes_received=received_bytes)


LOOP_ADVICE = "check this target's reasoning settings (and, on Azure, its api_version)"


def _unfixable(rejection: Rejection, corrected: ChatShape | None) -> str:
    if corrected is None:
        return rejection.detail()
    return (f"the endpoint refuses the request both ways ({rejection.change} was refused "
            f"too): {LOOP_ADVICE} (HTTP 400: {rejection.message})")


def _clip(detail: str, ctx: ProbeContext) -> str:
    return redact(detail, ctx.api_key)[:DETAIL_LIMIT]


def _learn(memory: ShapeMemory, sent: ChatShape, corrected: ChatShape, initial: ChatShape) -> None:
    """Apply what `corrected` changed against `sent` to the target's learned shape (another
    probe kind of the target may have learned something else meanwhile)."""
    base = memory.shape or initial
    changes = {
        f.name: getattr(corrected, f.name)
        for f in fields(ChatShape)
        if getattr(corrected, f.name) != getattr(sent, f.name)
    }
    if "least_tokens" in changes:
        changes["least_tokens"] = max(changes["least_tokens"], base.least_tokens)
    memory.shape = replace(base, **changes)


def _warn_once(ctx: ProbeContext, kind: str, rejection: Rejection, loop: ChatShape | None) -> None:
    """One warning per target and cause: what was refused and what the operator changes."""
    name, message = ctx.target.name, redact(rejection.message, ctx.api_key)
    if rejection.corrected is None or loop is not None:
        advice = rejection.advice if loop is None else LOOP_ADVICE
        key = f"rejected {advice}"
        line = (f"target={name} kind={kind} probe rejected by the model, not an outage "
                f"(HTTP 400: {message}); to fix: {advice}")
    else:
        key = f"corrected {rejection.change}"
        then = (f"; to send it from the first probe: {rejection.advice}" if rejection.advice
                else "; nothing to change in the configuration")
        line = (f"target={name} kind={kind} the model refused the probe request "
                f"(HTTP 400: {message}); its probes send {rejection.change} from now on{then}")
    if key not in ctx.memory.logged:
        ctx.memory.logged.add(key)
        log.warning("%s", line)
