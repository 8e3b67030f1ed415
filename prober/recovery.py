"""Seeing a backed-off target come back without spending tokens.

Kinds that spend tokens (`completion`, `stream`) back off while they fail
(`prober.cadence`); tokenless kinds (`models`, `http`) never do. One tokenless probe per
target is its **free probe**: the target's own `models` kind when it has one, else, while at
least one of its kinds is backed off, an internal liveness probe (`prober.liveness`). When the
free probe succeeds right after `DOWN_AFTER` failures in a row (the endpoint was down, not
just one request lost), every kind of the target that is failing is probed at once instead
of at the end of its backoff.

A free probe that succeeds all along (the endpoint answers; only the model fails) wakes
nothing, so a target that stays down is probed, and billed, by its backoff and no more: at
most one extra probe per kind each time the free probe comes back after being down. (Failures
that cost nothing, such as a 500 from the chat route, do not back off at all: `prober.cadence`.)

`TargetRecovery` is shared by the probe loops of one target, on one event loop.
"""

from __future__ import annotations

import asyncio

DOWN_AFTER = 2
"""Failed free probes in a row that make the endpoint down: a single lost request (a pooled
connection the server closed as the request went out) does not wake anything."""


class FreeProbeWatch:
    """The free probe's run of failures, and when a success means the target came back."""

    def __init__(self) -> None:
        self.failures = 0

    def observe(self, ok: bool) -> bool:
        """Record one free-probe outcome; True for a success right after `DOWN_AFTER` or
        more failures in a row."""
        came_back = ok and self.failures >= DOWN_AFTER
        self.failures = 0 if ok else self.failures + 1
        return came_back

    def forget(self) -> None:
        """Start afresh (the liveness probe stopped): the next success wakes nothing."""
        self.failures = 0


class TargetRecovery:
    """What the probe loops of one target tell each other: each costly kind's run of
    failures and backoff, the free probe's outcomes, and the wake-ups between them."""

    def __init__(self, costly_kinds: list[str]) -> None:
        self.free = FreeProbeWatch()
        self._failures = dict.fromkeys(costly_kinds, 0)
        self._backed_off: set[str] = set()
        self._wake = {kind: asyncio.Event() for kind in costly_kinds}
        self._backoff_changed = asyncio.Event()

    def costly_result(self, kind: str, failures: int, backed_off: bool) -> None:
        """Record a costly kind's state after one of its probes."""
        self._failures[kind] = failures
        before = bool(self._backed_off)
        if backed_off:
            self._backed_off.add(kind)
        else:
            self._backed_off.discard(kind)
        if before != bool(self._backed_off):
            self._backoff_changed.set()

    @property
    def backed_off(self) -> bool:
        """Whether any costly kind of the target waits out a backoff."""
        return bool(self._backed_off)

    async def wait_backed_off(self) -> None:
        """Return once some costly kind is backed off."""
        while not self._backed_off:
            self._backoff_changed.clear()
            await self._backoff_changed.wait()

    def free_result(self, ok: bool) -> list[str]:
        """Record a free-probe outcome; the kinds it wakes (failing ones, when the target
        came back)."""
        if not self.free.observe(ok):
            return []
        woken = [kind for kind, failures in self._failures.items() if failures > 0]
        for kind in woken:
            self._wake[kind].set()
        return woken

    async def sleep_until(self, kind: str, delay: float) -> bool:
        """Sleep `delay` seconds; True when `kind` was woken before (or while) it slept."""
        event = self._wake.get(kind)
        if event is None:
            await asyncio.sleep(delay)
            return False
        try:
            async with asyncio.timeout(delay):
                await event.wait()
        except TimeoutError:
            return False
        return True

    def probing(self, kind: str) -> None:
        """`kind` starts a probe: a wake-up that came before it is used up."""
        event = self._wake.get(kind)
        if event is not None:
            event.clear()
