"""The discovery task of one `discover: true` endpoint (Ollama, LM Studio).

Every `prober.discovery_interval` it lists the server's models. Each round is recorded as a
`models` probe of the endpoint target (so an unreachable server shows up as failing, and is
retried at the next round, its failures and recovery logged like a probe's); every installed
model becomes a target `<endpoint>/<model>` with its own probe loops, started when the model
appears and stopped when it disappears. Changes are logged and counted; load state and VRAM
are exported as gauges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from llmhealth_config.target import Target
from prober.attempt import redact
from prober.context import ProbeContext
from prober.discovery import Change, diff_models
from prober.local_models import DiscoveryError, LocalModel
from prober.outcome import ERROR_TYPES, OK, ProbeResult
from prober.protocols import SERVER_VERSION, discover_for

if TYPE_CHECKING:
    from prober.loop import Prober

log = logging.getLogger("prober")


async def discover_forever(prober: Prober, endpoint: Target, api_key: str | None) -> None:
    """Run discovery rounds on `endpoint` until cancelled."""
    ctx = prober.context(endpoint, api_key)
    known: dict[str, LocalModel] = {}
    while True:
        result, models = await discover_once(ctx)
        prober.telemetry.record(result, endpoint)
        prober.outcomes.record(result, time.monotonic(),
                               label=f"discovery on {endpoint.name} ({endpoint.base_url})")
        if models is not None:
            first = not known
            known, changes = diff_models(known, models)
            if first:
                log.info("discovery on %s (%s): %d models: %s", endpoint.name,
                         await _server_version(ctx), len(known),
                         ", ".join(sorted(known)) or "(none)")
            for change in changes:
                _apply(prober, endpoint, api_key, change, quiet=first)
            prober.telemetry.record_local_models(endpoint, models)
        await asyncio.sleep(prober.config.prober.discovery_interval)


async def discover_once(ctx: ProbeContext) -> tuple[ProbeResult, list[LocalModel] | None]:
    """One round: the result to record as the endpoint's `models` probe, and the models
    (None when the list could not be read)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(ctx.timeout):
            models = await discover_for(ctx.target)(ctx)
    except DiscoveryError as exc:
        outcome = exc.error_type if exc.error_type in ERROR_TYPES else "invalid_response"
        detail = exc.detail
    except TimeoutError:
        outcome, detail = "timeout", f"no model list within {ctx.timeout:g}s"
    else:
        return _result(ctx, OK, "", started), models
    return _result(ctx, outcome, redact(detail, ctx.api_key), started), None


async def _server_version(ctx: ProbeContext) -> str:
    """`<protocol> <version>` for the log line, as far as the server tells."""
    fetch = SERVER_VERSION.get(ctx.target.protocol)
    if fetch is None:
        return ctx.target.protocol
    try:
        async with asyncio.timeout(ctx.timeout):
            return f"{ctx.target.protocol} {await fetch(ctx)}"
    except (DiscoveryError, TimeoutError):
        return f"{ctx.target.protocol}, version unknown"


def _result(ctx: ProbeContext, outcome: str, detail: str, started: float) -> ProbeResult:
    return ProbeResult(target=ctx.target.name, kind="models", outcome=outcome,
                       duration_s=time.perf_counter() - started, detail=detail)


def _apply(prober: Prober, endpoint: Target, api_key: str | None, change: Change,
           *, quiet: bool) -> None:
    name = f"{endpoint.name}/{change.model}"
    prober.telemetry.record_discovery_change(endpoint, change.model, change.change)
    if change.change == "appeared":
        try:
            target = endpoint.discovered(change.model)
        except ValidationError:
            log.error("discovery on %s: model %r cannot be probed: %r is not a valid target name "
                      "(at most 128 characters from A-Z a-z 0-9 . _ : / -)",
                      endpoint.name, change.model, name)
            return
        prober.start_target(target, api_key)
    elif change.change == "disappeared":
        prober.stop_target(name)
    if not (quiet and change.change == "appeared"):
        log.info("discovery on %s: model %s %s", endpoint.name, change.model, change.change)
