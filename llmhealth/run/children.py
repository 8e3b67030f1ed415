"""Supervised child processes: output into the run log, restart with backoff, clean stop,
and no life of their own (llmhealth/run/tether.py) or secrets of the supervisor's
(llmhealth/run/environment.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal

from llmhealth.run import environment, tether
from llmhealth.run.child_lines import LineReader

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 5.0


class Child:
    """One child process, restarted whenever it exits until `stop()` is called.

    Its stdout and stderr go line by line to the logger `llmhealth.<name>`, each at the level
    the child gave it and without the child's own timestamp and logger name
    (`child_lines`); that logger passes every level on, DEBUG included, and the run's
    handlers decide where each goes (llmhealth/logs.py). Restarts back off 1 s, 2 s, 4 s … up
    to 30 s, and reset once a run lasted longer than 30 s.

    The process is started through the tether, from the calling thread (which must live as
    long as the supervisor: its main thread), so it is killed when this process dies. Its
    environment is `environment.common(os.environ)` plus `env`, kept as given. It runs in a
    session of its own: a Ctrl-C on the terminal reaches the supervisor only, which stops the
    children in its own order.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = {**environment.common(os.environ), **(env or {})}
        self.log = logging.getLogger(f"llmhealth.{name}")
        self.log.setLevel(logging.DEBUG)
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._task: asyncio.Task | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"child-{self.name}")

    async def _supervise(self) -> None:
        backoff = 1.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            code = await self._run_once()
            if self._stopping:
                return
            backoff = 1.0 if loop.time() - started > MAX_BACKOFF_S else backoff
            self.restarts += 1
            self.log.warning("%s exited with code %s; restarting in %.0f s (restart #%d)",
                             self.name, code, backoff, self.restarts)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _run_once(self) -> int | None:
        self._process = await asyncio.create_subprocess_exec(
            *tether.command(self.argv), env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)
        self.log.info("%s started (pid %d)", self.name, self._process.pid)
        assert self._process.stdout is not None
        lines = LineReader()
        async for raw in self._process.stdout:
            line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
            if line:
                level, message = lines.read(line)
                self.log.log(level, "%s", message)
        return await self._process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; waits until the process is gone."""
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_S)
            except TimeoutError:
                self.log.warning("%s did not stop within %.0f s; killing it", self.name, STOP_GRACE_S)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
