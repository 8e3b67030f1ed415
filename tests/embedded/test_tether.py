"""The tether (llmhealth/run/tether.py) with real processes: a child started through it ends
when its parent is SIGKILLed, on Linux (parent-death signal, then exec) and with the watcher
used elsewhere; a parent gone before the tether starts means the child never runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest

from llmhealth.run import tether
from tests.embedded import processes

pytestmark = pytest.mark.embedded
SLEEPER = [sys.executable, "-c", "import time; print('child up', flush=True); time.sleep(120)"]
GONE_S = 5
# `python -c WATCH PARENT_PID ARGV…`: the watcher used where there is no prctl.
WATCH = ("import sys; from llmhealth.run import tether; "
         "sys.exit(tether.watch(int(sys.argv[1]), sys.argv[2:]))")
# A parent that starts the sleeper through the tether and prints the pid it started.
PARENT = {
    "exec": """
import subprocess, sys, time
from llmhealth.run import tether
child = subprocess.Popen(tether.command(sys.argv[1:]), stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "child up\\n"
print(child.pid, flush=True)
time.sleep(120)
""",
    "watch": f"""
import os, subprocess, sys, time
argv = [sys.executable, "-c", {WATCH!r}, str(os.getpid()), *sys.argv[1:]]
child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "child up\\n"
print(child.pid, flush=True)
time.sleep(120)
""",
}


@contextmanager
def _parent(mode: str) -> Iterator[tuple[subprocess.Popen, list[psutil.Process]]]:
    """The parent and its whole tree (tether or watcher, sleeper), killed at the end."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT[mode], *SLEEPER],
                              stdout=subprocess.PIPE, text=True)
    tree: list[psutil.Process] = []
    try:
        pid = int(parent.stdout.readline())
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        yield parent, tree
    finally:
        parent.kill()
        parent.wait()
        processes.kill(tree)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")
def test_exec_mode_leaves_only_the_child_and_it_dies_with_the_parent() -> None:
    with _parent("exec") as (parent, tree):
        assert len(tree) == 1 and tree[0].cmdline() == SLEEPER  # the tether became the child
        parent.kill()
        assert not processes.survivors(tree, GONE_S)


def test_watcher_kills_the_child_when_the_parent_dies() -> None:
    with _parent("watch") as (parent, tree):
        assert [p.cmdline() for p in tree[1:]] == [SLEEPER]
        parent.kill()
        assert not processes.survivors(tree, GONE_S)


@pytest.mark.parametrize("mode", ["exec", "watch"])
def test_parent_already_gone_means_no_child(mode: str) -> None:
    """Told that its parent is a process that is not (as when the parent died before)."""
    not_parent = str(os.getppid())  # this test's parent; the tether's is this test
    start = ["-c", WATCH] if mode == "watch" else ["-m", "llmhealth.run.tether"]
    result = subprocess.run([sys.executable, *start, not_parent, sys.executable, "-c",
                             "print('child ran')"], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == tether.PARENT_GONE and "child ran" not in result.stdout


def test_watcher_passes_sigterm_to_the_child_and_exits_with_its_code() -> None:
    child = ("import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(3)); "
             "print('child up', flush=True); time.sleep(120)")
    watcher = subprocess.Popen([sys.executable, "-c", WATCH, str(os.getpid()), sys.executable,
                                "-c", child], stdout=subprocess.PIPE, text=True)
    tree = [psutil.Process(watcher.pid)]
    try:
        assert watcher.stdout.readline() == "child up\n"
        tree += psutil.Process(watcher.pid).children()
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(10) == 3
        assert not processes.survivors(tree, GONE_S)
    finally:
        processes.kill(tree)
        watcher.wait()
