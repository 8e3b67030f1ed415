"""Logging for the llmhealth processes: readable on a terminal, plain when piped, and a file."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

PLAIN_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_FILE_BYTES = 50 * 1024 * 1024
LOG_FILE_BACKUPS = 4
"""The log file rolls over at 50 MiB into `.1` … `.4`: at most 250 MiB of a long run's
per-probe lines (some 200 bytes each) are kept."""


def configure(console: Console | None = None, log_file: Path | None = None,
              level: int = logging.INFO) -> None:
    """Console handler (rich on a terminal, plain on a pipe) from `level` on, plus an
    optional log file (rolled over, see `LOG_FILE_BYTES`) that also takes DEBUG records:
    loggers are at `level` except those set lower on purpose (a child's output in
    `llmhealth run`, whose per-probe lines are DEBUG), which reach the file only. One
    timestamp and one logger name per line."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    if console is not None and console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False,
                                               rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s  %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if log_file is not None:
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
        file_handler.setLevel(logging.DEBUG)
        root.addHandler(file_handler)
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
