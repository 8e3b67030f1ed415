"""Per-endpoint concurrency: at most N probes hold a slot on one server at once, shared fairly.

Local servers (Ollama, LM Studio) run one model at a time and time out under parallel
probes, so they default to 1; remote APIs to `prober.endpoint_concurrency`. Targets on the
same scheme, host and port share one limit, the smallest any configured target there asks
for: an `ollama` target at `http://host:11434` lowers it for an OpenAI-compatible target at
`http://host:11434/v1` too (it is the same server).

Sharing is fair, so that hung or slow models do not blind the endpoint's healthy ones
(`EndpointSlots`): a freed slot goes to the waiting target with the fewest probes running,
and no probe waits for a slot longer than half its target's interval (`WAIT_SHARE`). A probe
that has waited that long takes the slot of the probe that has held one longest, which runs
on to its own timeout without a slot. So a waiting probe is late, never missing: a target
whose probes are quick (well under half its interval) still gets a result at least every
`1.5 x interval + probe duration`, well inside the aggregator's `stale_intervals x interval`
(3 x), and a hung probe holds its slot only until another probe has waited that long, not
for its whole timeout. The price is that the
endpoint may have more requests in flight than its limit while probes overrun, at most one
per (target, kind).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from llmhealth_config.model import Config
from llmhealth_config.target import Target

log = logging.getLogger("prober")

WAIT_SHARE = 0.5
"""Longest wait for a slot, as a share of the waiting target's interval."""


def endpoint_of(target: Target) -> str:
    """`scheme://host:port` of the target's base URL, the key targets share a limit by."""
    url = urlsplit(target.base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{(url.hostname or '').lower()}:{port}"


class EndpointLimits:
    """One `EndpointSlots` per endpoint, sized from every configured target on it (targets
    discovered later share their discovery endpoint's size)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._sizes: dict[str, int] = {}
        for target in config.targets:
            key = endpoint_of(target)
            size = config.concurrency_for(target)
            self._sizes[key] = min(size, self._sizes.get(key, size))
        self._slots: dict[str, EndpointSlots] = {}

    def size(self, target: Target) -> int:
        return self._sizes.get(endpoint_of(target), self._config.concurrency_for(target))

    def slot(self, target: Target) -> AbstractAsyncContextManager[None]:
        """Hold a slot of the target's endpoint while probing it (`async with
        limits.slot(t): …`), waiting at most `WAIT_SHARE` of its interval for one."""
        key = endpoint_of(target)
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = EndpointSlots(key, self.size(target))
        return slots.hold(target.name, WAIT_SHARE * self._config.interval_for(target))


@dataclass(eq=False)
class _Hold:
    """One probe's claim on the endpoint: `slotted` until its slot is taken over."""

    owner: str
    since: float
    slotted: bool = True


@dataclass(eq=False)
class _Waiter:
    owner: str
    seq: int
    since: float
    granted: asyncio.Future[_Hold]
    timer: asyncio.TimerHandle | None = field(default=None)


class EndpointSlots:
    """`size` slots of one endpoint, shared by the targets (owners) probing it.

    Contract: at most `size` probes hold a slot at once. A free slot goes at once to a
    probe that asks when nobody waits; otherwise to the waiting owner with the fewest probes
    running (slotted or not), the longest-waiting one among equals, so an owner with probes
    stuck in flight is served after the others. A probe that has waited `patience` seconds
    takes over the slot held longest; that holder keeps running without a slot (its release
    frees nothing). Cancelling a waiting probe withdraws it.
    """

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.takeovers = 0
        self._holders: list[_Hold] = []
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter]] = {}
        self._seq = itertools.count()

    @asynccontextmanager
    async def hold(self, owner: str, patience: float) -> AsyncIterator[None]:
        hold = await self._acquire(owner, patience)
        try:
            yield
        finally:
            self._release(hold)

    def running(self, owner: str) -> int:
        """Probes of `owner` holding or overrunning a slot now."""
        return self._running.get(owner, 0)

    async def _acquire(self, owner: str, patience: float) -> _Hold:
        loop = asyncio.get_running_loop()
        if len(self._holders) < self.size and not self._waiting:
            return self._grant(owner)
        waiter = _Waiter(owner, next(self._seq), loop.time(), loop.create_future())
        waiter.timer = loop.call_later(patience, self._take_over, waiter)
        self._waiting.setdefault(owner, deque()).append(waiter)
        try:
            return await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release(waiter.granted.result())
            else:
                self._withdraw(waiter)
            raise

    def _grant(self, owner: str) -> _Hold:
        hold = _Hold(owner, asyncio.get_running_loop().time())
        self._holders.append(hold)
        self._running[owner] = self._running.get(owner, 0) + 1
        return hold

    def _release(self, hold: _Hold) -> None:
        left = self._running[hold.owner] - 1
        if left:
            self._running[hold.owner] = left
        else:
            del self._running[hold.owner]
        if hold.slotted:
            self._holders.remove(hold)
            self._serve_waiting()

    def _serve_waiting(self) -> None:
        while self._waiting and len(self._holders) < self.size:
            owner = min(self._waiting,
                        key=lambda o: (self.running(o), self._waiting[o][0].seq))
            self._hand_to(self._waiting[owner][0])

    def _hand_to(self, waiter: _Waiter) -> None:
        """Give a free slot to `waiter`."""
        self._withdraw(waiter)
        waiter.granted.set_result(self._grant(waiter.owner))

    def _withdraw(self, waiter: _Waiter) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
        queue = self._waiting.get(waiter.owner)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._waiting[waiter.owner]

    def _take_over(self, waiter: _Waiter) -> None:
        """`waiter` has waited its patience out: the longest-held slot becomes its own."""
        if waiter.granted.done() or not self._holders:
            return
        victim = min(self._holders, key=lambda h: h.since)
        victim.slotted = False
        self._holders.remove(victim)
        now = asyncio.get_running_loop().time()
        self.takeovers += 1
        first = self.takeovers == 1
        log.log(logging.INFO if first else logging.DEBUG,
                "endpoint %s (limit %d): target=%s waited %.1f s, so it takes the slot of "
                "target=%s (running %.1f s), which goes on over the limit%s", self.name,
                self.size, waiter.owner, now - waiter.since, victim.owner, now - victim.since,
                "; further take-overs here are logged at debug" if first else "")
        self._hand_to(waiter)
