"""`llmhealth status`: the live table of `--watch` rendered on fixed rows (one line per row, the
reason cut with `…` at any width, status colours, the header's counts and evaluated instant,
rows beyond the terminal's height counted), the one-shot read from a served API, the error when
neither the API nor the store answers, and a real `llmhealth status --watch` in a terminal (a
pty) against the API on an ephemeral port: it redraws in place as the state changes and exits 0
without a traceback on SIGINT."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment
from typer.testing import CliRunner

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.status_view import LiveStatus, StatusReading
from llmhealth.cli import app
from tests.unit.test_api_route import AT, CONFIG, kind, pool_row, row, view_of

ROOT = Path(__file__).resolve().parents[2]
LONG = ("completion: circuit breaker open: 3 consecutive failures (last: http_5xx); stream: "
        "circuit breaker open: 3 consecutive failures (last: timeout); models: healthy")


def status_row(target: str, status: str, reason: str = "", kind_: str = "target",
               **fields: Any) -> dict[str, Any]:
    return {"target": target, "kind": kind_, "status": status, "reason": reason or "as before",
            "breaker": "closed", "consecutive_failures": 0, "requests": 30, "errors": 0,
            "error_rate": 0.0, "latency_p50_ms": 210.0, "latency_p90_ms": 480.0,
            "latency_p99_ms": 1234.0, "ttft_p50_ms": 90.0, "ttft_p90_ms": 150.0,
            "ttft_p99_ms": 300.0, "evaluated_at": AT.isoformat(), **fields}


ROWS = [
    status_row("healthy-one", "healthy"),
    status_row("down", "unhealthy", LONG, breaker="open", error_rate=1.0),
    status_row("slow", "degraded", "completion: latency p99 12.3 s > 5 s over 5m"),
    status_row("limited", "rate_limited", "completion: 0 requests remaining"),
    status_row("chat", "degraded", "1 of 4 members down", kind_="pool"),
]
READING = StatusReading(ROWS, "API http://127.0.0.1:8080", AT, 1.0, False)


def rendered(view: LiveStatus, width: int, height: int = 40) -> tuple[list[str], list[Segment]]:
    console = Console(record=True, width=width, height=height, color_system="truecolor",
                      force_terminal=True, legacy_windows=False)
    console.print(view)
    segments = list(console.render(view))
    return console.export_text().rstrip("\n").split("\n"), segments


def style_of(segments: list[Segment], text: str) -> str:
    (segment,) = [s for s in segments if s.text.strip() == text]
    return str(segment.style)


@pytest.mark.parametrize("width", [
    pytest.param(160, id="wide"), pytest.param(100, id="100-columns"),
    pytest.param(72, id="narrow")])
def test_one_line_per_row_and_the_reason_cut_not_wrapped(width: int) -> None:
    lines, _ = rendered(LiveStatus(READING, 2.0), width)
    assert all(len(line) <= width for line in lines)
    header, titles, rule, *rows = lines
    assert header.startswith("llmhealth  evaluated 12:00:00 UTC") and set(rule) == {"─"}
    assert len(rows) == len(ROWS)  # no row wraps onto a second line
    assert titles.split()[:3] == ["target", "status", "reason"]
    assert rows[0].startswith("down") and "…" in rows[0]  # the worst first, its reason cut
    assert "completion: circuit" in rows[0]
    assert [r.split()[0] for r in rows] == ["down", "limited", "slow", "chat", "healthy-one"]
    assert "chat (pool)" in rows[3]


def test_narrow_terminals_drop_numeric_columns_before_the_reason() -> None:
    wide, _ = rendered(LiveStatus(READING), 160)
    narrow, _ = rendered(LiveStatus(READING), 72)
    middle, _ = rendered(LiveStatus(READING), 100)
    assert wide[1].split()[3:] == ["breaker", "err", "%", "lat", "p50", "p90", "p99", "ms",
                                   "ttft", "p50", "p90", "p99", "ms"]
    assert wide[3].split()[-7:] == ["100.0", "210", "480", "1,234", "90", "150", "300"]
    assert middle[1].split()[3:] == ["breaker", "err", "%", "lat", "p90", "ms", "ttft", "p90", "ms"]
    assert narrow[1].split()[3:] == ["err", "%"]
    reason = narrow[3][narrow[1].index("reason"):]
    assert len(reason.split("…")[0]) >= 20


@pytest.mark.parametrize(("text", "style"), [
    pytest.param("unhealthy", "bold red", id="unhealthy"),
    pytest.param("degraded", "yellow", id="degraded"),
    pytest.param("healthy", "green", id="healthy"),
    pytest.param("rate_limited", "magenta", id="rate-limited"),
])
def test_status_colours(text: str, style: str) -> None:
    _, segments = rendered(LiveStatus(StatusReading([status_row("t", text)], "API x", AT)), 120)
    assert style_of(segments, text) == style


def test_header_counts_statuses_and_names_the_evaluated_instant_and_source() -> None:
    lines, segments = rendered(LiveStatus(READING, 2.0), 200)
    assert lines[0] == ("llmhealth  evaluated 12:00:00 UTC (1 s ago)  4 targets: 1 unhealthy · "
                        "1 rate_limited · 1 degraded · 1 healthy  1 pool: 1 degraded  "
                        "API http://127.0.0.1:8080 · every 2 s · Ctrl-C quits")
    assert style_of(segments, "1 unhealthy") == "bold red"
    stale, _ = rendered(LiveStatus(StatusReading(ROWS, "API x", AT, 30.0, True)), 200)
    assert "evaluated 12:00:00 UTC (30 s ago) STALE" in stale[0]
    fresh, _ = rendered(LiveStatus(StatusReading([], "API x")), 100)
    assert "0 targets" in fresh[0] and "not evaluated yet" in fresh[0]
    assert "no snapshots yet" in fresh[-1]


def test_a_failed_read_keeps_the_rows_and_says_why() -> None:
    failed = StatusReading(ROWS, "API x", AT, 1.0, False, error="no API answers at x",
                           failed_at=AT + timedelta(seconds=4))
    lines, _ = rendered(LiveStatus(failed), 120)
    assert lines[1] == ("read at 12:00:04 UTC failed: no API answers at x (showing the read "
                        "before, of 12:00:00 UTC)")
    assert len(lines) == 4 + len(ROWS)


def test_rows_beyond_the_terminal_height_are_counted() -> None:
    rows = [status_row(f"t{i:02d}", "healthy") for i in range(30)] + [status_row("x", "unhealthy")]
    lines, _ = rendered(LiveStatus(StatusReading(rows, "API x", AT)), 100, height=12)
    assert len(lines) == 11  # one line left for the cursor
    assert lines[3].startswith("x ")
    assert lines[-1] == "… 24 more below (the healthiest): 24 healthy"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ApiState, str]]:
    """The API on an ephemeral port, serving a fixed state: `a` healthy, `b` unhealthy with its
    completion breaker open, `c` degraded, `d` unknown; pool `chat` degraded."""
    state = ApiState(None, CONFIG, clock=(AT + timedelta(seconds=1)).timestamp)
    server = ApiServer(create_app(metrics=MetricsState(None, CONFIG), health=state), "127.0.0.1", 0)
    server.start()
    try:
        yield state, server.url
    finally:
        server.stop()


def fixed_view(c_reason: str = "c degraded") -> Any:
    return view_of(
        row("a", latency_p50_s=0.2, latency_p90_s=0.4, latency_p99_s=0.9),
        row("b", "unhealthy", error_rate=1.0, kinds=[
            kind("completion", "open", consecutive_failures=7), kind("stream")]),
        row("c", "degraded", reason=c_reason, error_rate=0.1),
        row("d", "unknown"),
        pool_row("chat", "degraded"))


def test_status_reads_the_api(served: tuple[ApiState, str]) -> None:
    state, url = served
    state.view = fixed_view()
    result = CliRunner().invoke(app, ["status", "--json", "--api-url", url])
    assert result.exit_code == 0, result.output
    rows = {r["target"]: r for r in json.loads(result.stdout)}
    assert list(rows) == ["a", "b", "c", "d", "chat"]
    assert (rows["a"]["latency_p50_ms"], rows["a"]["latency_p99_ms"]) == (200.0, 900.0)
    assert (rows["b"]["status"], rows["b"]["breaker"], rows["b"]["consecutive_failures"]) == (
        "unhealthy", "open", 7)
    assert (rows["chat"]["kind"], rows["chat"]["status"]) == ("pool", "degraded")
    assert rows["a"]["evaluated_at"] == "2030-05-01T12:00:00Z"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_api_and_no_store_is_one_line_naming_both(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    api_port, store_port = closed_port(), closed_port()
    config = tmp_path / "c.yaml"
    config.write_text(f"aggregator: {{http_port: {api_port}}}\nstore: {{http_port: {store_port}}}\n")
    monkeypatch.setenv("LLMHEALTH_STORE_PASSWORD", "pw")
    result = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: no API answers at http://127.0.0.1:{api_port} (connection "
                           "refused); and cannot reach the store at "
                           f"http://127.0.0.1:{store_port}/"), line


@pytest.mark.parametrize("interval", ["0s", "fast", "0.05s"])
def test_a_bad_interval_is_refused(interval: str) -> None:
    result = CliRunner().invoke(app, ["status", "--watch", "--interval", interval])
    assert result.exit_code == 2 and "--interval" in result.stderr


def read_until(fd: int, out: bytearray, needle: bytes, timeout: float) -> None:
    """Read the pty into `out` until `needle` is in it (after what `out` held) or EOF."""
    start, deadline = len(out), time.monotonic() + timeout
    while needle not in out[start:]:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} not shown; output: {bytes(out[-2000:])!r}"
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            out += chunk


def test_watch_redraws_in_place_and_exits_0_on_sigint(served: tuple[ApiState, str],
                                                      tmp_path: Path) -> None:
    state, url = served
    state.view = fixed_view()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 120, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LLMHEALTH_") and k not in ("COLUMNS", "LINES", "NO_COLOR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmhealth", "status", "--watch", "--interval", "0.3s",
         "--api-url", url], stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}, start_new_session=True)
    os.close(slave)
    out = bytearray()
    try:
        read_until(master, out, b"c degraded", timeout=15)
        state.view = fixed_view("c: latency p99 9.9 s > 5 s")
        read_until(master, out, b"latency p99 9.9 s", timeout=5)
        read_until(master, out, b"llmhealth", timeout=5)  # one more refresh
        process.send_signal(signal.SIGINT)
        # the rest, to EOF, read while it exits: a full terminal buffer would block its last
        # writes and so its exit
        read_until(master, out, b"\x00never", timeout=15)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    text = out.decode(errors="replace")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert "Traceback" not in plain and "Aborted" not in plain
    assert "\x1b[1A" in text  # the cursor went up: the table was redrawn in place
    assert "4 targets: 1 unhealthy · 1 degraded · 1 unknown · 1 healthy" in plain
    assert "\x1b[1;31munhealthy" in text  # coloured
    assert all(len(line) <= 120 for line in re.split(r"[\r\n]+", plain))
