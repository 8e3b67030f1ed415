"""Tie a child process's life to its parent's: `python -m llmhealth.run.tether PARENT_PID ARGV…`.

`llmhealth run` starts every child through this launcher, so that a supervisor that dies in
any way (SIGKILL included) takes its children with it: an orphaned prober would keep calling
providers with nowhere to send results, an orphaned rotel would keep the OTLP ports.

On Linux the launcher asks the kernel for SIGKILL when its parent dies
(`prctl(PR_SET_PDEATHSIG)`), checks that its parent is still `PARENT_PID` (the parent may have
died before the request took effect) and then replaces itself with ARGV (`execvp`; the request
survives it): the child keeps the launcher's pid and no extra process remains. The kernel
sends the signal when the *thread* that started the child ends, so the supervisor must start
children from a thread that lives as long as it does (its main thread).

Elsewhere the launcher stays in front of the child as a watcher: it polls its parent every
`POLL_S` seconds and SIGKILLs the child once the parent is gone; SIGTERM and SIGINT sent to
the launcher are passed on to the child, and the launcher exits with the child's code.

Exit code `PARENT_GONE` (without starting ARGV): the parent was already gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 0.5
PARENT_GONE = 125


def command(argv: list[str]) -> list[str]:
    """The argv that starts `argv` tethered to this process."""
    return [sys.executable, "-m", "llmhealth.run.tether", str(os.getpid()), *argv]


def exec_tethered(parent: int, argv: list[str]) -> None:
    """Linux: die by SIGKILL with the parent, then become `argv`. Returns only if the parent
    is already gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        return
    os.execvp(argv[0], argv)


def watch(parent: int, argv: list[str]) -> int:
    """Run `argv` until it exits (its exit code, 128 + n for signal n) or until `parent` is
    gone (the child is killed; PARENT_GONE)."""
    if os.getppid() != parent:
        return PARENT_GONE
    child = subprocess.Popen(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda sig, _frame: child.send_signal(sig))
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = child.wait(POLL_S)
            return code if code >= 0 else 128 - code
        if os.getppid() != parent:
            child.kill()
            child.wait()
            return PARENT_GONE


def main(args: list[str]) -> int:
    if len(args) < 2 or not args[0].isdigit():
        print("usage: python -m llmhealth.run.tether PARENT_PID PROGRAM [ARG...]", file=sys.stderr)
        return 2
    parent, argv = int(args[0]), args[1:]
    if not sys.platform.startswith("linux"):
        return watch(parent, argv)
    exec_tethered(parent, argv)
    print(f"tether: parent {parent} is gone; not starting {argv[0]}", file=sys.stderr)
    return PARENT_GONE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
