"""What a line of a child's output says: its level and its message, without the child's own
timestamp and logger name, which the run's log adds again once.

The children write three forms:

* our Python parts (`llmhealth probe`): `2024-05-01 12:00:00,123 prober WARNING message`;
* uvicorn (the simulator): `WARNING:  message`;
* rotel (Rust `tracing`, text format): `2024-05-01T12:00:00.123456Z  WARN message`.

Any other line (a traceback, a message printed before logging was set up) continues the
child's previous line and keeps its level; `Traceback (most recent call last):` is an error.
A child's first line of that kind is INFO.
"""

from __future__ import annotations

import logging
import re

_PYTHON = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")
_UVICORN = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+(.*)$")
_TRACING = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+(.*)$")
_TRACEBACK = "Traceback (most recent call last):"

_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
           "WARN": logging.WARNING, "WARNING": logging.WARNING, "ERROR": logging.ERROR,
           "CRITICAL": logging.CRITICAL}


class LineReader:
    """Reads one child's lines in order (the level of a continuation depends on the line
    before it)."""

    def __init__(self) -> None:
        self._level = logging.INFO

    def read(self, line: str) -> tuple[int, str]:
        """(logging level, message) of `line`, which has no line break."""
        for form in (_PYTHON, _TRACING, _UVICORN):
            match = form.match(line)
            if match:
                self._level = _LEVELS[match.group(1)]
                return self._level, match.group(2)
        if line.startswith(_TRACEBACK):
            self._level = logging.ERROR
        return self._level, line
