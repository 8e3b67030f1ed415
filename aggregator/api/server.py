"""Serve the aggregator's HTTP API (uvicorn) on a thread of its own, beside the worker, in the
aggregator's process (`llmhealth aggregator`) or `llmhealth run`'s; the hot reads
(aggregator/api/hot_reads.py) are answered in front of the app, before the framework."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from aggregator.api.hot_reads import HotReads

log = logging.getLogger("llmhealth.aggregator")
START_S = 10.0
STOP_S = 10.0


class ApiUnavailable(Exception):
    """The API cannot listen where it is told to; the text names the setting that chooses it."""


HOW = "LLMHEALTH_AGGREGATOR__HTTP_PORT or aggregator.http_port"


def _bind(host: str, port: int, how: str) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ApiUnavailable(f"cannot listen on {host} (aggregator.http_host): {exc}") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        taken = exc.errno == errno.EADDRINUSE
        raise ApiUnavailable(
            f"port {port} on {host} (aggregator HTTP API, GET /metrics) "
            + ("is already in use: stop the process using it or choose another"
               if taken else f"cannot be used ({exc.strerror}): choose another")
            + f" with {how}") from None
    sock.set_inheritable(False)
    return sock


class ApiServer:
    """`app` on `host`:`port` (0: a free port, see `port`), served by uvicorn on a daemon
    thread. `start` returns once it accepts connections; `stop` ends it and its connections.
    `how` says how to choose another port, for the error when this one is taken."""

    def __init__(self, app: FastAPI, host: str, port: int, how: str = HOW) -> None:
        self.app, self.host, self.requested_port, self.how = app, host, port, how
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Listen (raises ApiUnavailable when it cannot), then serve on a thread."""
        sock = _bind(self.host, self.requested_port, self.how)
        self.port = sock.getsockname()[1]
        self._server = server = uvicorn.Server(uvicorn.Config(
            HotReads(self.app, lambda _scope: self.app.state.health), log_level="warning",
            access_log=False, lifespan="off",
            timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name="llmhealth-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise ApiUnavailable(f"the aggregator HTTP API did not start on {self.url}")
            time.sleep(0.01)
        log.info("aggregator: HTTP API on %s (GET /metrics, /api/health/*, /docs)", self.url)

    def stop(self) -> None:
        """Stop accepting, end open connections, wait for the thread (at most STOP_S)."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(STOP_S)
        if self._thread.is_alive():
            log.warning("the aggregator HTTP API did not stop within %g s", STOP_S)
