"""The prober's activity endpoint: `GET /activity` answers `Activity.snapshot` as JSON on
`prober.http_host`:`prober.http_port`, served by uvicorn inside the prober's event loop (the
prober keeps its own signal handlers: the server installs none). The listening socket is bound
by `bind` before the prober starts anything, so that a port in use stops the prober at once with
a sentence naming the setting (`ActivityUnavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from prober.activity import Activity
from prober.heartbeat import age_s

log = logging.getLogger("prober")

PATH = "/activity"
HOW = "LLMHEALTH_PROBER__HTTP_PORT or prober.http_port"
START_S = 10.0


class ActivityUnavailable(Exception):
    """The endpoint cannot listen where it is told to; the text names the setting."""


def bind(host: str, port: int, how: str = HOW) -> socket.socket:
    """A listening socket on `host`:`port` (0: any free port); ActivityUnavailable naming `how`
    (the settings that choose the port) when it is taken or cannot be used."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ActivityUnavailable(f"cannot listen on {host} (prober.http_host): {exc}") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        taken = exc.errno == errno.EADDRINUSE
        raise ActivityUnavailable(
            f"port {port} on {host} (prober activity endpoint, GET {PATH}) "
            + ("is already in use: stop the process using it or choose another"
               if taken else f"cannot be used ({exc.strerror}): choose another")
            + f" with {how}") from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: SIGINT and SIGTERM stop the prober, which then
    stops this server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ActivityServer:
    """Serves `activity` on `sock` (from `bind`) once `start`ed, until `stop`. The export
    state is read from `heartbeat_file` on a thread, never on the event loop."""

    def __init__(self, activity: Activity, sock: socket.socket, heartbeat_file: Path) -> None:
        self.activity, self.sock, self.heartbeat_file = activity, sock, heartbeat_file
        app = Starlette(routes=[Route(PATH, self._activity, methods=["GET"])])
        self._server = _Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                              lifespan="off", timeout_graceful_shutdown=1))
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{PATH}"

    async def start(self) -> None:
        """Serve, returning once the server accepts connections."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        async with asyncio.timeout(START_S):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                    raise ActivityUnavailable(f"the activity endpoint did not start on {self.url}")
                await asyncio.sleep(0.01)
        log.info("activity: GET %s", self.url)

    async def stop(self) -> None:
        """Stop listening and end open connections."""
        if self._task is not None:
            self._server.should_exit = True
            await self._task
        self.sock.close()

    async def _activity(self, _request: Request) -> JSONResponse:
        age = await asyncio.to_thread(age_s, self.heartbeat_file)
        return JSONResponse(self.activity.snapshot(age), headers={"Cache-Control": "no-store"})
