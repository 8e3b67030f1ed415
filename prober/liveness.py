"""The internal liveness probe: a target's free probe when none of its kinds is tokenless.

It runs only while at least one of the target's kinds is backed off (`prober.recovery`),
at the target's base interval, from the moment the backoff starts. It is the protocol's
`models` probe (the list must parse and name the model); for protocols without a model list
(`azure`) a **connection check**: GET the base URL without credentials, ok when any HTTP
status below 500 arrives (401 or 404 still mean the server is there). It runs under the
whole `timeout`, with no bounds, and holds an endpoint slot like any probe; the prober's
activity (`prober.activity`) lists it as kind `liveness`.

Its outcomes are exported as `llmhealth.liveness.outcomes` only, never as probe outcomes: a
liveness success is not a success of the target's `completion` or `stream` kinds, and its
failures are not theirs either (docs/metrics.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from llmhealth_config.target import KINDS, Target
from prober.activity import LIVENESS
from prober.attempt import Attempt, run_attempt
from prober.cadence import Cadence, CadenceRules
from prober.context import ProbeContext, ProbeFn
from prober.exchange import send
from prober.outcome import OK, ProbeResult
from prober.protocols import probe_for
from prober.recovery import TargetRecovery

if TYPE_CHECKING:
    from prober.loop import Prober

log = logging.getLogger("prober")


async def probe_connection(ctx: ProbeContext) -> ProbeResult:
    """GET the base URL (no key sent, body not read); ok for any status below 500."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        async with send(ctx.client, attempt, "GET", ctx.base_url, timeout=ctx.timeout) as response:
            code = response.status_code
        return ("http_5xx", f"HTTP {code}") if code >= 500 else (OK, "")

    return await run_attempt(ctx.target.name, "connection", work, timeout=ctx.timeout,
                             secret=ctx.api_key)


def liveness_probe(target: Target) -> tuple[str, ProbeFn]:
    """The liveness probe of `target`'s protocol: (`models`, its models probe) or
    (`connection`, the connection check)."""
    if "models" in KINDS[target.protocol]:
        return "models", probe_for(target, "models")
    return "connection", probe_connection


async def watch_forever(
    prober: Prober, ctx: ProbeContext, recovery: TargetRecovery, rules: CadenceRules
) -> None:
    """While any kind of `ctx.target` is backed off, probe its liveness on slots
    `rules.interval` apart from the moment the backoff started (missed slots skipped), and
    wake the failing kinds when it comes back; idle otherwise. Runs until cancelled."""
    target = ctx.target
    kind, probe = liveness_probe(target)
    clock = asyncio.get_running_loop()
    while True:
        await recovery.wait_backed_off()
        cadence = Cadence(rules, start=clock.time())
        while recovery.backed_off:
            await asyncio.sleep(max(0.0, cadence.planned - clock.time()))
            if not recovery.backed_off:
                break
            with prober.activity.probe(target, LIVENESS, clock.time() - cadence.planned) as entry:
                async with prober.endpoints.slot(target):
                    entry.run()
                    result = await probe(ctx)
            prober.activity.finished(target.name, LIVENESS, result)
            prober.telemetry.record_liveness(result, target)
            woken = recovery.free_result(result.outcome == OK)
            if woken:
                log.info("target=%s kind=%s liveness probe ok after failures; probing %s now",
                         target.name, kind, ", ".join(woken))
            cadence.skip(clock.time())
        recovery.free.forget()
