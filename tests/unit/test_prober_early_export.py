"""Early exports of failed probes (prober.early_export): soon after a request, one at a time,
never closer than the minimum gap."""

from __future__ import annotations

import threading
import time

from prober.early_export import EarlyExport


def test_requests_are_served_soon_coalesced_and_spaced() -> None:
    calls: list[float] = []
    done = threading.Event()

    def flush() -> None:
        calls.append(time.monotonic())
        time.sleep(0.05)  # an export takes a while; requests meanwhile wait for the next one
        done.set()

    early = EarlyExport(flush, min_gap_s=0.3)
    try:
        asked = time.monotonic()
        for _ in range(5):
            early.request()
        assert done.wait(2.0)
        assert calls[0] - asked < 0.2
        for _ in range(5):  # during the gap: one more export, no sooner than 0.3 s after the first
            early.request()
        time.sleep(0.6)
        assert len(calls) == 2
        assert calls[1] - calls[0] >= 0.3
        time.sleep(0.3)
        assert len(calls) == 2  # nothing asked since
    finally:
        early.stop()


def test_a_failing_flush_does_not_stop_it() -> None:
    calls = []

    def flush() -> None:
        calls.append(1)
        raise RuntimeError("collector gone")

    early = EarlyExport(flush, min_gap_s=0.0)
    try:
        early.request()
        time.sleep(0.1)
        early.request()
        time.sleep(0.1)
        assert len(calls) == 2
    finally:
        early.stop()
