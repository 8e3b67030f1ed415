"""`llmhealth run` (the demo, flags only) and its children as real processes: the children
die with the supervisor however it ends, a restart on the same ports works at once, the
children see none of the supervisor's secrets or settings, and what the run writes is private."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from aggregator.store.password import PASSWORD_FILE
from harness.pipeline import query
from harness.ports import free_ports
from tests.embedded import processes

pytestmark = pytest.mark.embedded
START_S = 45  # a fresh store's migrations and three children on a loaded 2-core machine
GONE_S = 5
EXIT_S = 20  # a clean stop: SIGTERM to each child, 5 s each at most
FAKE_KEYS = {"OPENAI_API_KEY": "sk-test-supervisor-openai",
             "ANTHROPIC_API_KEY": "sk-ant-test-supervisor"}
ROLES = ("rotel", "prober", "simulator")


@pytest.fixture
def ports() -> dict[str, int]:
    names = ("store", "grpc", "http", "simulator", "api", "prober", "unused")
    return dict(zip(names, free_ports(len(names)), strict=True))


def _argv(data_dir: Path, ports: dict[str, int]) -> list[str]:
    return [sys.executable, "-m", "llmhealth", "run", "--data-dir", str(data_dir),
            "--store-port", str(ports["store"]), "--otlp-grpc-port", str(ports["grpc"]),
            "--otlp-http-port", str(ports["http"]), "--simulator-port", str(ports["simulator"]),
            "--api-port", str(ports["api"]), "--prober-port", str(ports["prober"])]


def _env(ports: dict[str, int]) -> dict[str, str]:
    # A setting in the environment that the flag overrides: the prober must not see it.
    return {**os.environ, **FAKE_KEYS, "LLMHEALTH_COLLECTOR__GRPC_PORT": str(ports["unused"])}


class Run:
    """A supervisor process and every child of it seen so far."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log = process, log
        self.seen: set[psutil.Process] = set()

    def running(self, ports: dict[str, int]) -> dict[str, psutil.Process]:
        """The children once each has started and rotel and the simulator listen."""
        found = processes.wait_children(self.process.pid, ROLES, START_S)
        self.seen.update(found.values())
        deadline = time.monotonic() + START_S
        for port in (ports["grpc"], ports["simulator"]):
            while True:
                assert self.process.poll() is None, self.log.read_text()
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, (port, self.log.read_text())
                time.sleep(0.2)
        return found


@contextmanager
def _supervisor(argv: list[str], env: dict[str, str], log: Path) -> Iterator[Run]:
    """The supervisor; on the way out it and every child it had are killed if still running
    (a test failed before they stopped)."""
    with log.open("a") as out:
        run = Run(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env), log)
        try:
            yield run
        finally:
            if run.process.poll() is None:
                run.seen.update(psutil.Process(run.process.pid).children(recursive=True))
                run.process.kill()
                run.process.wait()
            processes.kill(run.seen)


def _store_receives_probes(ports: dict[str, int], data_dir: Path, log: Path) -> None:
    """The store answers, and metrics of this run's prober arrive: sent to the port the flag
    chose, not the one of the `LLMHEALTH_…` variable."""
    url = f"http://127.0.0.1:{ports['store']}/"
    assert httpx.get(f"{url}ping", timeout=5).text.strip() == "Ok."
    store = {"url": url, "auth": ("default", (data_dir / PASSWORD_FILE).read_text().strip())}
    count = "SELECT count() AS n FROM otel_metrics_sum"
    before = query(store, count)[0]["n"]  # may hold rows of the run before
    deadline = time.monotonic() + START_S
    while query(store, count)[0]["n"] == before:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)


def _assert_private(data_dir: Path) -> None:
    loose = [f"{oct(path.lstat().st_mode & 0o777)} {path}"
             for path in (data_dir, *data_dir.rglob("*"))
             if not path.is_symlink() and path.lstat().st_mode & 0o077]
    assert not loose, loose


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP], ids=["sigkill", "sighup"])
def test_children_die_with_the_supervisor_and_a_restart_works(
        tmp_path: Path, ports: dict[str, int], signum: signal.Signals) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "run.log"
    (data_dir / "run").mkdir(parents=True, mode=0o755)
    (data_dir / "run" / "llmhealth.log").write_text("an older version's log\n")
    (data_dir / "run" / "llmhealth.log").chmod(0o644)
    argv, env = _argv(data_dir, ports), _env(ports)
    with _supervisor(argv, env, log) as run:
        children = run.running(ports)
        run.process.send_signal(signum)
        code = run.process.wait(EXIT_S)
        assert not processes.survivors(children.values(), GONE_S)
    assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 0), log.read_text()
    with _supervisor(argv, env, log) as run:
        run.running(ports)
        _store_receives_probes(ports, data_dir, log)
        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(EXIT_S) == 0, log.read_text()
    _assert_private(data_dir)


def test_children_get_no_secret_and_no_setting(tmp_path: Path, ports: dict[str, int]) -> None:
    log = tmp_path / "run.log"
    with _supervisor(_argv(tmp_path / "data", ports), _env(ports), log) as run:
        environ = {name: proc.environ() for name, proc in run.running(ports).items()}
        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(EXIT_S) == 0, log.read_text()
    for name, env in environ.items():
        assert not set(FAKE_KEYS.values()) & set(env.values()), name
        assert not [key for key in env if key.upper().startswith("LLMHEALTH_")], (name, env.keys())
        assert env.get("PATH") == os.environ["PATH"], name
    assert environ["rotel"]["ROTEL_OTLP_GRPC_ENDPOINT"] == f"127.0.0.1:{ports['grpc']}"
    assert not [key for name in ("prober", "simulator") for key in environ[name]
                if key.startswith("ROTEL_")]


CRASHING_STATUS_VIEW = """
import sys
import llmhealth.run.pipeline as pipeline
from llmhealth.cli import app

async def crash(*args, **kwargs):
    raise RuntimeError("injected crash of the status view")

pipeline._status_loop = crash
app(sys.argv[1:], prog_name="llmhealth")
"""


def test_an_exception_in_the_supervisor_still_stops_children_cleanly(
        tmp_path: Path, ports: dict[str, int]) -> None:
    log = tmp_path / "run.log"
    argv = [sys.executable, "-c", CRASHING_STATUS_VIEW, *_argv(tmp_path / "data", ports)[3:]]
    with _supervisor(argv, _env(ports), log) as run:
        children = run.running(ports)
        deadline = time.monotonic() + START_S
        while "prober INFO probing" not in log.read_text():  # its SIGTERM handler is set
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        run.process.send_signal(signal.SIGTERM)
        code = run.process.wait(EXIT_S)
        assert not processes.survivors(children.values(), GONE_S)
    text = log.read_text()
    assert code == 1 and "RuntimeError: injected crash of the status view" in text, text
    # Stopped by the supervisor, not killed when it died: the prober said goodbye.
    assert "prober INFO stopped" in text and "llmhealth.run INFO stopped" in text, text
