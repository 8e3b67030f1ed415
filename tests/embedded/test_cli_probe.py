"""`llmhealth probe` as a real child process (the installed console script) against the
simulator and a server that echoes the key it is sent: exit 0 when every probe is ok, 1 when
one failed, 2 for an unknown target (naming the configured ones) or a config error; a table
with each outcome and its timings; the API key of the environment never in the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from simulator.behavior import ModelBehavior
from simulator.server import running

pytestmark = pytest.mark.embedded

LLMHEALTH = Path(sys.executable).parent / "llmhealth"
FAST = {"latency_p50": 0.01, "latency_p99": 0.03, "ttft_p50": 0.01, "ttft_p99": 0.03}
MODELS = {"good": ModelBehavior(**FAST),
          "down": ModelBehavior(**FAST, error_rate=1.0, error_kind="http_500")}
KEY_ENV = "LLMHEALTH_TEST_CLI_PROBE_KEY"
KEY = "sk-cli-probe-test-0123456789abcdef"


class EchoKey(BaseHTTPRequestHandler):
    """Refuses every request with OpenAI's 401 wording, echoing the key it was sent."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        sent = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {sent}."}})
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """The simulator's OpenAI base URL and the echoing server's."""
    echo = ThreadingHTTPServer(("127.0.0.1", 0), EchoKey)
    thread = threading.Thread(target=echo.serve_forever, daemon=True)
    thread.start()
    try:
        with running(MODELS) as base:
            yield base, f"http://127.0.0.1:{echo.server_address[1]}/v1"
    finally:
        echo.shutdown()
        echo.server_close()
        thread.join(5)


@pytest.fixture
def config_file(tmp_path: Path, servers: tuple[str, str]) -> Path:
    base, echo = servers
    path = tmp_path / "llmhealth.yaml"
    path.write_text(f"""\
targets:
  - name: good
    base_url: {base}
    model: good
    probes: [models, completion, stream]
    api_key_env: {KEY_ENV}
  - name: down
    base_url: {base}
    model: down
  - name: echo
    base_url: {echo}
    model: any
    probes: [completion]
    api_key_env: {KEY_ENV}
""")
    return path


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMHEALTH_")}
    env.update({KEY_ENV: KEY, "COLUMNS": "200"})
    return subprocess.run([str(LLMHEALTH), "probe", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=env)


def rows(stdout: str) -> list[list[str]]:
    """The table's rows as (target, kind, outcome, …) cells."""
    return [line.split() for line in stdout.splitlines()
            if line.split()[:1] and line.split()[0] in ("good", "down", "echo")]


def test_a_healthy_target_exits_0_with_each_outcome_and_its_timings(config_file: Path) -> None:
    done = probe("good", "--config", str(config_file))
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    for column in ("target", "kind", "outcome", "HTTP", "connect", "first byte", "TTFT",
                   "total", "in/out", "detail"):
        assert column in header
    assert [row[:4] for row in rows(done.stdout)] == [
        ["good", "models", "ok", "200"], ["good", "completion", "ok", "200"],
        ["good", "stream", "ok", "200"]]
    assert "ms" in rows(done.stdout)[2][4:]  # the stream's timings are shown
    assert "3 probes, 0 failed · 1 target in" in done.stdout
    assert "probing 1 target" in done.stderr


def test_a_failing_target_exits_1_and_the_key_is_never_shown(config_file: Path) -> None:
    done = probe("--config", str(config_file))
    assert done.returncode == 1, done.stderr
    assert [row[:3] for row in rows(done.stdout)] == [
        ["good", "models", "ok"], ["good", "completion", "ok"], ["good", "stream", "ok"],
        ["down", "completion", "http_5xx"], ["down", "stream", "http_5xx"],
        ["echo", "completion", "auth"]]
    assert "Incorrect API key provided: [redacted]" in done.stdout
    assert "6 probes, 3 failed · 3 targets in" in done.stdout
    assert KEY not in done.stdout + done.stderr


def test_an_unknown_target_exits_2_naming_the_configured_ones(config_file: Path) -> None:
    done = probe("nope", "--config", str(config_file))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown target 'nope'; configured targets: good, down, echo" in done.stderr


def test_a_config_error_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("targets:\n  - name: x\n    base_url: http://127.0.0.1:9/v1\n")
    done = probe("--config", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "model is required" in done.stderr
