"""Running the simulator with uvicorn: in the foreground, or in a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from simulator.app import create_app
from simulator.behavior import ModelBehavior
from simulator.waiting import ConnectionCut

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0


class _SimulatorServer(uvicorn.Server):
    """uvicorn server that ends the simulator's pending sleeps (hangs, slow replies,
    streams) before its graceful shutdown, so shutdown never waits on them."""

    def __init__(self, config: uvicorn.Config, release: Callable[[], None]) -> None:
        super().__init__(config)
        self._release = release

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Release pending sleeps, then shut down as uvicorn does."""
        self._release()
        await super().shutdown(sockets)


class _DropDeliberateCuts(logging.Filter):
    """Keeps `ConnectionCut` (a fault injected on purpose) out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionCut)


def _build_server(
    models: dict[str, ModelBehavior], host: str, port: int, seed: int | None
) -> _SimulatorServer:
    app = create_app(models, seed=seed)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropDeliberateCuts) for f in error_log.filters):
        error_log.addFilter(_DropDeliberateCuts())
    return _SimulatorServer(config, app.state.sim.waiter.release)


def serve(
    models: dict[str, ModelBehavior],
    host: str = "127.0.0.1",
    port: int = 8900,
    *,
    seed: int | None = None,
) -> None:
    """Serve `models` in the foreground until SIGINT/SIGTERM."""
    _build_server(models, host, port, seed).run()


@contextmanager
def running(
    models: dict[str, ModelBehavior],
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    seed: int | None = None,
) -> Iterator[str]:
    """Serve `models` from a background thread for the duration of the block.

    Yields the OpenAI base URL, `http://HOST:PORT/v1`, with the actually bound port
    (`port=0` picks a free one). On exit the server shuts down and the thread is joined;
    raises RuntimeError if the server fails to start or to stop in time.
    """
    server = _build_server(models, host, port, seed)
    thread = threading.Thread(target=server.run, name="llmhealth-simulator", daemon=True)
    thread.start()
    try:
        bound = _wait_until_started(server, thread)
        yield f"http://{host}:{bound}/v1"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("simulator did not shut down in time")


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> int:
    """Block until `server` listens and return its port."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("simulator failed to start")
        time.sleep(0.01)
    return server.servers[0].sockets[0].getsockname()[1]
