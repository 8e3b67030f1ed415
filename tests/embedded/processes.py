"""The child processes of a running `llmhealth run`, found from outside with psutil."""

from __future__ import annotations

import time
from collections.abc import Iterable

import psutil


def role(proc: psutil.Process) -> str | None:
    """'rotel', 'prober' or 'simulator' for a started child of `llmhealth run`; None for
    anything else, a tether that has not yet become its child included."""
    try:
        argv = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if "llmhealth.run.tether" in argv:
        return None
    if argv and argv[0].endswith("rotel-agent"):
        return "rotel"
    if argv[1:4] == ["-m", "llmhealth", "prober"]:
        return "prober"
    if argv[1:4] == ["-m", "llmhealth", "simulate"]:
        return "simulator"
    return None


def children(pid: int) -> dict[str, psutil.Process]:
    """The started children of process `pid`, by role."""
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    return {name: proc for proc in procs if (name := role(proc)) is not None}


def wait_children(pid: int, roles: Iterable[str], deadline_s: float) -> dict[str, psutil.Process]:
    """The children of `pid` once every one of `roles` has started; AssertionError after
    `deadline_s` seconds."""
    wanted = set(roles)
    deadline = time.monotonic() + deadline_s
    while not wanted <= (found := children(pid)).keys():
        assert psutil.pid_exists(pid), f"process {pid} ended; children seen: {sorted(found)}"
        assert time.monotonic() < deadline, f"started within {deadline_s} s: {sorted(found)}"
        time.sleep(0.2)
    return found


def _ended(proc: psutil.Process) -> bool:
    """Gone, or a zombie: dead, holding no port, waiting only for init to reap it."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def survivors(procs: Iterable[psutil.Process], within_s: float) -> list[psutil.Process]:
    """Those of `procs` still running after `within_s` seconds (polled; empty as soon as all
    have ended)."""
    pending = list(procs)
    deadline = time.monotonic() + within_s
    while (pending := [p for p in pending if not _ended(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pending


def kill(procs: Iterable[psutil.Process]) -> None:
    """SIGKILL every one of `procs` still running (cleanup after a failed test)."""
    for proc in procs:
        try:
            if proc.is_running():
                proc.kill()
        except psutil.NoSuchProcess:
            pass
