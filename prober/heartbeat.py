"""The prober's heartbeat: a file touched after every export the collector took, so that
`llmhealth check --component prober` (a compose health check, in the prober's container or on
its machine) can tell a prober that exports from one that is stuck or cut off."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("prober")


class Heartbeat:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._warned = False

    def beat(self) -> None:
        """Set the file's modification time to now (creating it); a failure is logged once."""
        try:
            self.path.touch(mode=0o600)
            os.utime(self.path)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot write the heartbeat file %s (%s): `llmhealth check "
                            "--component prober` will report this prober as not exporting; set "
                            "prober.heartbeat_file to a writable path", self.path, exc.strerror)


def age_s(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat, None when there was none."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


class Keepalive:
    """Calls `keepalive(interval_s)` (ExportBuffer.keepalive) every `interval_s` from a thread
    of its own (a gRPC call: never on the event loop), until `stop()`."""

    def __init__(self, keepalive: Callable[[float], None], interval_s: float) -> None:
        self._keepalive = keepalive
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober-keepalive", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self._keepalive(self._interval_s)
            except Exception:  # the next export or keepalive tries again
                log.debug("keepalive export failed", exc_info=True)
