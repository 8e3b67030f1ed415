"""How `llmhealth run` re-logs its children's output: at the child's level, with one timestamp
and one logger name, DEBUG lines into the log file only."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from llmhealth import logs
from llmhealth.run.child_lines import LineReader
from llmhealth.run.children import Child

DEBUG, INFO, WARNING, ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR


@pytest.mark.parametrize(("lines", "expected"), [
    pytest.param(["2026-01-02 03:04:05,678 prober WARNING target=a kind=completion outcome=timeout"],
                 [(WARNING, "target=a kind=completion outcome=timeout")], id="python-logging"),
    pytest.param(["2026-01-02 03:04:05,678 opentelemetry.sdk.metrics DEBUG collected 3 points"],
                 [(DEBUG, "collected 3 points")], id="python-logging-dotted-name"),
    pytest.param(["WARNING:  Invalid HTTP request received.", "INFO:     Shutting down"],
                 [(WARNING, "Invalid HTTP request received."), (INFO, "Shutting down")],
                 id="uvicorn"),
    pytest.param(["2026-01-02T03:04:05.678901Z  WARN Failed to export: connection refused",
                  "2026-01-02T03:04:05.678901Z ERROR exporter stopped",
                  "2026-01-02T03:04:05.678901Z TRACE polling"],
                 [(WARNING, "Failed to export: connection refused"), (ERROR, "exporter stopped"),
                  (DEBUG, "polling")], id="rotel-tracing"),
    pytest.param(["2026-01-02 03:04:05,678 prober ERROR probe task crashed",
                  "Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
                  "ValueError: boom"],
                 [(ERROR, "probe task crashed"), (ERROR, "Traceback (most recent call last):"),
                  (ERROR, '  File "x.py", line 1, in <module>'), (ERROR, "ValueError: boom")],
                 id="continuation-keeps-level"),
    pytest.param(["Traceback (most recent call last):", "RuntimeError: crashed at start"],
                 [(ERROR, "Traceback (most recent call last):"),
                  (ERROR, "RuntimeError: crashed at start")], id="bare-traceback-is-an-error"),
    pytest.param(["prober: no targets configured"], [(INFO, "prober: no targets configured")],
                 id="plain-line-is-info"),
])
def test_line_reader(lines: list[str], expected: list[tuple[int, str]]) -> None:
    reader = LineReader()
    assert [reader.read(line) for line in lines] == expected


# A child that logs as `llmhealth probe --log-level debug` does.
CHILD = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log = logging.getLogger("prober")
    log.debug("target=a kind=completion outcome=ok in 0.012 s")
    log.info("probing 1 targets")
    log.warning("target=b kind=stream outcome=timeout detail=deadline exceeded (started failing)")
    sys.stderr.flush()
    import time; time.sleep(30)
""")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}")


@pytest.fixture
def run_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_childs_warning_stays_a_warning_with_one_timestamp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_logging: None
) -> None:
    log_file = tmp_path / "llmhealth.log"
    logs.configure(Console(file=io.StringIO()), log_file)  # not a terminal: plain lines on stderr

    async def scenario() -> None:
        child = Child("fakeprober", [sys.executable, "-c", CHILD])
        child.start()
        try:
            for _ in range(100):
                if "started failing" in log_file.read_text():
                    break
                await asyncio.sleep(0.1)
        finally:
            await child.stop()

    asyncio.run(scenario())
    terminal = capsys.readouterr().err.splitlines()
    warning = next(line for line in terminal if "started failing" in line)
    assert TIMESTAMP.match(warning) and len(TIMESTAMP.findall(warning)) == 1, warning
    assert warning.split(" ", 2)[2] == ("llmhealth.fakeprober WARNING target=b kind=stream "
                                        "outcome=timeout detail=deadline exceeded (started failing)")
    assert any(line.endswith("llmhealth.fakeprober INFO probing 1 targets") for line in terminal)
    assert not any("outcome=ok" in line for line in terminal)  # per-probe detail: file only
    in_file = log_file.read_text()
    assert "llmhealth.fakeprober DEBUG target=a kind=completion outcome=ok in 0.012 s" in in_file
    assert "llmhealth.fakeprober WARNING target=b kind=stream" in in_file


def test_the_log_file_rolls_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 run_logging: None) -> None:
    monkeypatch.setattr(logs, "LOG_FILE_BYTES", 4096)
    log_file = tmp_path / "llmhealth.log"
    logs.configure(Console(file=io.StringIO()), log_file)
    child_log = logging.getLogger("llmhealth.rolling")
    child_log.setLevel(DEBUG)
    for n in range(200):
        child_log.debug("target=a kind=completion outcome=ok in 0.012 s (%d)", n)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["llmhealth.log", *(f"llmhealth.log.{i}" for i in range(1, logs.LOG_FILE_BACKUPS + 1))]
    assert all(path.stat().st_size <= 4096 for path in tmp_path.iterdir())
    assert "(199)" in log_file.read_text()
