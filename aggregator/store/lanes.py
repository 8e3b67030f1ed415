"""Lanes: separate sets of engine sessions for the endpoint's users, so that one user's heavy
query never makes another user's statements wait.

The `parts` lane serves user default (the collector's inserts, `llmhealth status`); the
`people` lane serves user reader with a read-only session and the limits of
`store.reader_limits`. The aggregator inside the same process has a session of its own
(EmbeddedStore). A caller waits at most `queue_timeout` for a free session of its lane.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aggregator.store.embedded import EmbeddedStore, Session
from llmhealth_config.model import ReaderLimits

PARTS_SESSIONS = 4
"""Sessions for user default: the collector's concurrent inserts and the CLI's reads."""
PARTS_QUEUE_TIMEOUT_S = 30.0
TOO_MANY_SIMULTANEOUS_QUERIES = 202


class LaneBusy(Exception):
    """Every session of the lane stayed busy for the whole wait; the text says what to do."""

    code = TOO_MANY_SIMULTANEOUS_QUERIES


def reader_settings(limits: ReaderLimits) -> dict[str, Any]:
    """Session settings of the people lane: read-only (which also forbids changing any setting,
    so a query cannot lift these limits) and bounded in time, memory, rows and threads."""
    return {
        "readonly": 1,
        "max_execution_time": limits.max_execution_time,
        "max_memory_usage": limits.max_memory_usage,
        "max_result_rows": limits.max_result_rows,
        "result_overflow_mode": "throw",
        "max_threads": limits.max_threads,
    }


class Lane:
    """`size` sessions opened with `settings`, lent to one caller at a time."""

    def __init__(self, name: str, store: EmbeddedStore, size: int, settings: Mapping[str, Any],
                 queue_timeout: float, hint: str) -> None:
        self.name = name
        self.queue_timeout = queue_timeout
        self._hint = hint
        self._idle: queue.Queue[Session] = queue.Queue()
        self._all = [store.open_session(settings) for _ in range(size)]
        for session in self._all:
            self._idle.put(session)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A free session for the duration of the block; raises LaneBusy after the wait."""
        try:
            session = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty:
            raise LaneBusy(f"Code: {TOO_MANY_SIMULTANEOUS_QUERIES}. DB::Exception: all {len(self._all)} "
                           f"sessions of the {self.name} lane stayed busy for {self.queue_timeout:g} s; "
                           f"{self._hint}. (TOO_MANY_SIMULTANEOUS_QUERIES)") from None
        try:
            yield session
        finally:
            self._idle.put(session)

    def close(self) -> None:
        for session in self._all:
            session.close()


def open_lanes(store: EmbeddedStore, limits: ReaderLimits) -> dict[str, Lane]:
    """The endpoint's lanes by user name."""
    return {
        "default": Lane("parts", store, PARTS_SESSIONS, {}, PARTS_QUEUE_TIMEOUT_S,
                        "query as user reader for ad-hoc reads"),
        "reader": Lane("people", store, limits.concurrency, reader_settings(limits),
                       limits.queue_timeout, "wait for a query to finish, or raise "
                       "store.reader_limits.concurrency"),
    }
