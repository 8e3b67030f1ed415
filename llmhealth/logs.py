"""Logging for the llmhealth processes: readable on a terminal, plain when piped, and a file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

PLAIN_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure(console: Console | None = None, log_file: Path | None = None,
              level: int = logging.INFO) -> None:
    """Console handler (rich on a terminal, plain on a pipe) plus an optional log file."""
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
    root.addHandler(handler)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
        root.addHandler(file_handler)
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
