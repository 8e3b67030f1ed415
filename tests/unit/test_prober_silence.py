"""The silence watch: cuts at the first-byte and gap bounds, and not when the prober's own
event loop was held up past the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prober.bounds import Bounds
from prober.silence import LOOP_LAG_S, SilenceWatch

Work = Callable[[SilenceWatch], Awaitable[None]]


async def watched(bounds: Bounds, work: Work) -> tuple[str, float]:
    """Run `work` under a watch; ("cut" or "done", seconds taken)."""
    clock = asyncio.get_running_loop()
    started = clock.time()
    try:
        async with asyncio.timeout(None) as timeout:
            watch = SilenceWatch(timeout, bounds)
            try:
                await work(watch)
            finally:
                watch.close()
    except TimeoutError:
        return "cut", clock.time() - started
    return "done", clock.time() - started


def run(bounds: Bounds, work: Work) -> tuple[str, float]:
    return asyncio.run(watched(bounds, work))


async def silent(_watch: SilenceWatch) -> None:
    await asyncio.sleep(5)


def test_cut_at_the_first_byte_bound() -> None:
    outcome, took = run(Bounds(first_byte=0.1), silent)
    assert outcome == "cut" and 0.09 < took < 0.3


def test_reads_rearm_to_the_gap_bound() -> None:
    async def trickle(watch: SilenceWatch) -> None:
        for _ in range(5):  # a read every 0.08 s: under the 0.15 s gap bound
            await asyncio.sleep(0.08)
            watch.heard()
        await asyncio.sleep(5)  # then silence

    outcome, took = run(Bounds(first_byte=0.1, gap=0.15), trickle)
    assert outcome == "cut" and 0.5 < took < 0.75


def test_no_gap_bound_lifts_the_deadline_after_the_first_byte() -> None:
    async def one_byte_then_slow(watch: SilenceWatch) -> None:
        await asyncio.sleep(0.05)
        watch.heard()
        await asyncio.sleep(0.4)

    assert run(Bounds(first_byte=0.1), one_byte_then_slow)[0] == "done"


def test_no_bounds_no_cut() -> None:
    async def slow(_watch: SilenceWatch) -> None:
        await asyncio.sleep(0.3)

    assert run(Bounds(), slow)[0] == "done"


def test_a_busy_loop_is_not_the_providers_silence() -> None:
    """The loop is blocked from 0.05 s to 0.45 s, past the 0.1 s deadline; the reply came in
    meanwhile and reaches the probe two turns of the loop after the block."""

    async def reply_behind_a_blocked_loop(watch: SilenceWatch) -> None:
        clock = asyncio.get_running_loop()
        arrived = clock.create_future()
        clock.call_later(0.05, time.sleep, 2 * LOOP_LAG_S + 0.1)
        clock.call_later(0.06, lambda: clock.call_soon(
            lambda: clock.call_soon(arrived.set_result, None)))
        await arrived
        watch.heard()

    assert run(Bounds(first_byte=0.1), reply_behind_a_blocked_loop)[0] == "done"


def test_a_read_in_the_same_turn_as_the_deadline_is_heard_first() -> None:
    async def reply_at_the_deadline(watch: SilenceWatch) -> None:
        clock = asyncio.get_running_loop()
        arrived = clock.create_future()
        clock.call_at(clock.time() + 0.1, arrived.set_result, None)
        clock.call_later(0.05, time.sleep, 0.1)  # both timers are due when the loop is back
        await arrived
        watch.heard()

    assert run(Bounds(first_byte=0.1), reply_at_the_deadline)[0] == "done"
