"""Recovery: when a target's free probe wakes its backed-off kinds, rule by rule."""

from __future__ import annotations

import asyncio

import pytest

from prober.recovery import FreeProbeWatch, TargetRecovery


@pytest.mark.parametrize(("outcomes", "wakes"), [
    pytest.param([True, True, True], [False, False, False], id="never-failed-wakes-nothing"),
    pytest.param([False, False, True, True], [False, False, True, False],
                 id="first-success-after-failures-wakes-once"),
    pytest.param([False, True, False, True], [False, False, False, False],
                 id="single-lost-requests-wake-nothing"),
    pytest.param([False, False, True, False, False, False, True],
                 [False, False, True, False, False, False, True], id="every-comeback-wakes"),
    pytest.param([True, False], [False, False], id="a-failure-wakes-nothing"),
])
def test_free_probe_watch(outcomes: list[bool], wakes: list[bool]) -> None:
    watch = FreeProbeWatch()
    assert [watch.observe(ok) for ok in outcomes] == wakes


def test_forget_starts_afresh() -> None:
    watch = FreeProbeWatch()
    watch.observe(False)
    watch.observe(False)
    watch.forget()
    assert watch.observe(True) is False


def test_only_failing_kinds_are_woken() -> None:
    async def scenario() -> None:
        recovery = TargetRecovery(["completion", "stream"])
        recovery.costly_result("completion", failures=7, backed_off=True)
        recovery.costly_result("stream", failures=0, backed_off=False)
        assert recovery.free_result(ok=True) == []  # the free probe never failed
        assert recovery.free_result(ok=False) == []
        assert recovery.free_result(ok=False) == []
        assert recovery.free_result(ok=True) == ["completion"]
        assert await recovery.sleep_until("completion", 5.0) is True
        assert await recovery.sleep_until("stream", 0.01) is False

    asyncio.run(scenario())


def test_a_wake_is_used_up_by_the_next_probe() -> None:
    async def scenario() -> None:
        recovery = TargetRecovery(["completion"])
        recovery.costly_result("completion", failures=6, backed_off=True)
        recovery.free_result(ok=False)
        recovery.free_result(ok=False)
        recovery.free_result(ok=True)
        recovery.probing("completion")
        assert await recovery.sleep_until("completion", 0.01) is False

    asyncio.run(scenario())


def test_a_sleeping_kind_is_woken_at_once() -> None:
    async def scenario() -> float:
        recovery = TargetRecovery(["stream"])
        recovery.costly_result("stream", failures=9, backed_off=True)
        recovery.free_result(ok=False)
        recovery.free_result(ok=False)
        clock = asyncio.get_running_loop()
        started = clock.time()
        sleeper = asyncio.create_task(recovery.sleep_until("stream", 60.0))
        await asyncio.sleep(0.05)
        recovery.free_result(ok=True)
        assert await sleeper is True
        return clock.time() - started

    assert asyncio.run(scenario()) < 1.0


def test_tokenless_kinds_just_sleep() -> None:
    async def scenario() -> bool:
        recovery = TargetRecovery(["completion"])
        return await recovery.sleep_until("models", 0.01)

    assert asyncio.run(scenario()) is False


def test_backed_off_follows_the_costly_kinds() -> None:
    async def scenario() -> None:
        recovery = TargetRecovery(["completion", "stream"])
        waiter = asyncio.create_task(recovery.wait_backed_off())
        await asyncio.sleep(0)
        recovery.costly_result("completion", failures=3, backed_off=False)
        await asyncio.sleep(0)
        assert not waiter.done() and not recovery.backed_off
        recovery.costly_result("stream", failures=6, backed_off=True)
        await asyncio.wait_for(waiter, 1.0)
        recovery.costly_result("completion", failures=6, backed_off=True)
        recovery.costly_result("stream", failures=0, backed_off=False)
        assert recovery.backed_off
        recovery.costly_result("completion", failures=0, backed_off=False)
        assert not recovery.backed_off

    asyncio.run(scenario())
