"""The watchdog that cuts a probe whose response stays silent past its bounds (`prober.bounds`).

A `SilenceWatch` arms for the first-byte bound when the probe starts, re-arms for the gap
bound at every read of the body (`heard`), and when a deadline passes in silence it expires
the `asyncio.Timeout` the probe's work runs under, so the probe ends as `timeout`.

It never blames a provider for the prober's own stalls. Its deadline is a timer on the
prober's event loop: when the timer fires more than `LOOP_LAG_S` late, the loop was held up
(a saturated prober, a starved host) and the reply may be waiting unread, so the watch waits
as long again instead of cutting; under a sustained lag only the whole timeout ends a probe.
When the timer fires on time, the cut still waits one turn of the loop, so a read delivered
in the same turn is heard first.
"""

from __future__ import annotations

import asyncio

from prober.bounds import Bounds

LOOP_LAG_S = 0.2
"""A timer firing this much later than planned means the event loop was busy."""


class SilenceWatch:
    """Expires `timeout` (entered, with no deadline of its own) when the response stays
    silent longer than `bounds` allow. `close` before leaving the timeout's block."""

    def __init__(self, timeout: asyncio.Timeout, bounds: Bounds) -> None:
        self._timeout = timeout
        self._gap = bounds.gap
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.Handle | None = None
        self._closed = False
        self._arm(bounds.first_byte)

    def heard(self) -> None:
        """Body bytes arrived: the next deadline is the gap bound from now (none without one)."""
        if not self._closed:
            self._arm(self._gap)

    def close(self) -> None:
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, delay: float | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if delay is not None:
            when = self._loop.time() + delay
            self._handle = self._loop.call_at(when, self._due, when)

    def _due(self, when: float) -> None:
        now = self._loop.time()
        late = now - when
        if late > LOOP_LAG_S:
            self._handle = self._loop.call_at(now + late, self._due, now + late)
        else:
            self._handle = self._loop.call_soon(self._expire)

    def _expire(self) -> None:
        self._handle = None
        self._closed = True
        self._timeout.reschedule(self._loop.time())
