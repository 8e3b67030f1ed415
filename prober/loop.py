"""The probe schedule: one task per (target, probe kind), each on its own fixed cadence.

This is the dispatcher: it picks the protocol function for a probe kind, runs it, records the
result through `Telemetry` and logs failures. Tasks share one HTTP client but nothing else,
so a target that hangs only ever delays its own next probe.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping

import httpx

from llmhealth.config.model import Config
from llmhealth.config.target import Target
from prober.context import ProbeContext
from prober.outcome import OK, ProbeResult
from prober.protocols import probe_for
from prober.telemetry import Telemetry

log = logging.getLogger("prober")

ProbeCall = Callable[[], Awaitable[ProbeResult]]


async def run_targets(
    config: Config,
    telemetry: Telemetry,
    *,
    stop: asyncio.Event,
    api_keys: Mapping[str, str | None],
) -> None:
    """Probe every target and kind until `stop` is set, then cancel in-flight probes and
    return. `api_keys` maps target names to their key (None: no key). A probe task that
    crashes is a bug: every task is cancelled and its exception re-raised."""
    tasks = [(target, kind) for target in config.targets for kind in target.kinds]
    # No pool limit: each task has at most one request in flight, so connections are bounded
    # by the number of tasks and a slow target can never make another wait for the pool.
    # HTTP/2 is only negotiated (ALPN) for https://; plain http:// stays HTTP/1.1.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=len(tasks))
    async with httpx.AsyncClient(http2=True, limits=limits, follow_redirects=False) as client:
        running = [
            asyncio.create_task(
                _probe_forever(
                    _probe_call(client, config, target, kind, api_keys.get(target.name)),
                    target,
                    interval=config.interval_for(target),
                    telemetry=telemetry,
                ),
                name=f"probe {target.name} {kind}",
            )
            for target, kind in tasks
        ]
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([stopping, *running], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [stopping, *running]:
                task.cancel()
            await asyncio.gather(stopping, *running, return_exceptions=True)
        for task in running:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()


def _probe_call(
    client: httpx.AsyncClient, config: Config, target: Target, kind: str, api_key: str | None
) -> ProbeCall:
    """The protocol function for `kind`, bound to everything but the moment it runs."""
    ctx = ProbeContext(
        client,
        target,
        api_key=api_key,
        timeout=config.timeout_for(target),
        max_body_bytes=config.prober.max_body_bytes,
        stream_max_tokens=config.prober.stream_max_tokens,
    )
    return functools.partial(probe_for(target, kind), ctx)


async def _probe_forever(
    probe: ProbeCall, target: Target, *, interval: float, telemetry: Telemetry
) -> None:
    """Run `probe` at start + k * interval for k = 0, 1, ... after a uniform start jitter in
    [0, interval). A probe that overruns its slot makes the loop skip the missed slots
    rather than drift or burst."""
    clock = asyncio.get_running_loop()
    start = clock.time() + random.uniform(0, interval)
    slot = 0
    while True:
        await asyncio.sleep(max(0.0, start + slot * interval - clock.time()))
        result = await probe()
        telemetry.record(result, target)
        if result.outcome != OK:
            log.info(
                "target=%s kind=%s outcome=%s detail=%s",
                result.target,
                result.kind,
                result.outcome,
                result.detail,
            )
        slot = max(slot + 1, math.floor((clock.time() - start) / interval) + 1)
