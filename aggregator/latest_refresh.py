"""Read what the last evaluated instant wrote, off the worker's thread: the mechanism behind
the state `GET /metrics` serves (metrics_state.py) and the one the HTTP API serves
(api_state.py).

The worker's listener only records the instant (`want`), so a slow store never delays the
next evaluation; a thread of its own runs `read(instant)`, and instants that come faster than
the read (a backfill) are read once, the latest. A failed read is counted and logged, and the
reads go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from aggregator.store.base import StoreError

log = logging.getLogger("llmhealth.aggregator")
STOP_WAIT_S = 10.0


class LatestRefresh:
    """Runs `read` for the latest instant asked, on the thread `name`. `label` and `keeps`
    word the warning of a failed read (`<label>: cannot read the state of … (<keeps>)`)."""

    def __init__(self, read: Callable[[datetime], object], *, name: str, label: str,
                 keeps: str) -> None:
        self._read = read
        self._name, self._label, self._keeps = name, label, keeps
        self.failures = 0
        self.thread: threading.Thread | None = None
        self._wanted: datetime | None = None
        self._stopping = False
        self._wake = threading.Condition()

    def want(self, instant: datetime) -> None:
        """Ask for `instant` to be read (returns at once)."""
        with self._wake:
            self._wanted = instant
            self._wake.notify()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the thread, after the read it runs (if any) ends."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self.thread is not None:
            self.thread.join(STOP_WAIT_S)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                instant, self._wanted = self._wanted, None
            try:
                self._read(instant)
            except StoreError as exc:
                self.failures += 1
                log.warning("%s: cannot read the state of %s (%s): %s", self._label,
                            instant.isoformat(), self._keeps, exc)
            except Exception:  # a bug here must not end the refreshes
                self.failures += 1
                log.exception("%s: reading the state of %s failed", self._label,
                              instant.isoformat())
