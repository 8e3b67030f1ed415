"""A failed probe is exported at once instead of at the next export interval.

The periodic reader exports every `prober.export_interval` (1 s by default), so a failure's
point waited up to that long before the collector had it: a part of every detection time.
`EarlyExport` runs one extra export when asked, from its own thread (an export encodes and
sends over gRPC: never on the event loop), one at a time and at least `min_gap_s` after the
previous one, so that an outage of a thousand targets costs a few extra exports a second, not
one per failure. Requests made while an export runs are served by the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("prober")


class EarlyExport:
    """Calls `flush` (the reader's collect-and-export) soon after `request()`, from a thread of
    its own, at most once every `min_gap_s` seconds, until `stop()`."""

    def __init__(self, flush: Callable[[], object], min_gap_s: float) -> None:
        self._flush = flush
        self._min_gap_s = min_gap_s
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober-early-export", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Ask for an export soon (cheap, from any thread)."""
        self._wanted.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread; an export under way is waited for up to `timeout_s`."""
        self._stopping.set()
        self._wanted.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        last = -self._min_gap_s
        while True:
            self._wanted.wait()
            if self._stopping.wait(max(0.0, last + self._min_gap_s - time.monotonic())):
                return
            self._wanted.clear()
            try:
                self._flush()
            except Exception:  # the periodic export goes on; this one is only early
                log.debug("early export failed", exc_info=True)
            last = time.monotonic()
