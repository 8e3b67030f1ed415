"""Delivery to one receiver (aggregator/notify/delivery.py) against a real HTTP server on an
ephemeral port: retries with backoff and then delivery in order, refusals given up at once,
a bounded queue, Retry-After, timeouts, and no secret in any row, error or log line.

`HttpReceiver` is also the receiver of the embedded end-to-end tests (tests/embedded/
test_notify_e2e.py)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from aggregator.notify.alerts import Alert, Notification
from aggregator.notify.compose import Message
from aggregator.notify.delivery import Delivery
from aggregator.notify.endpoints import endpoint, guard_http_logs
from aggregator.notify.plan import Bucket
from llmhealth_config.notifications import DeliverySettings, Receiver

Response = tuple[int, str, float]
"""(status, body, seconds to wait before answering)"""


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: dict
    at: float


class HttpReceiver:
    """A local HTTP server that records every POST (path, headers, JSON body) and answers
    with `respond(path, n)` (n: requests to that path so far, from 0), default 200."""

    def __init__(self, respond: Callable[[str, int], Response] | None = None) -> None:
        self.respond = respond or (lambda path, n: (200, "ok", 0.0))
        self.headers: dict[str, str] = {}  # sent with every response
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    n = sum(1 for r in owner.requests if r.path == self.path)
                    owner.requests.append(Request(self.path, dict(self.headers), body, time.monotonic()))
                status, text, delay = owner.respond(self.path, n)
                time.sleep(delay)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(data)))
                    for name, value in owner.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        """Requests to `path`, in order of arrival."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 15.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            assert time.monotonic() < deadline, f"{len(self.at(path))} of {count} requests to {path}"
            time.sleep(0.02)
        return self.at(path)


class MemoryLedger:
    """Collects the rows a delivery writes (the embedded tests use the real store)."""

    instance = "test-instance"

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def record(self, rows: list[dict]) -> None:
        self.rows += rows


T = datetime(2026, 12, 4, 12, 0, 8, tzinfo=UTC)
SECRET_PATH = "/hook/T0KEN-abc123"


def message(target: str = "a", action: str = "trigger") -> Message:
    alert = Alert(target, "target", "", "unhealthy", T, "completion: circuit breaker open")
    n = Notification("hook", "webhook", action, alert, T, "unhealthy", "healthy", alert.reason)
    return Message("hook", "webhook", [n], Bucket(T, T, T))


def delivery(receiver: HttpReceiver, **settings) -> tuple[Delivery, MemoryLedger]:
    config = Receiver(name="hook", type="webhook", url_env="HOOK_URL")
    target = endpoint(config, 0, {"HOOK_URL": receiver.url(SECRET_PATH)})
    guard_http_logs(target.secrets)
    ledger = MemoryLedger()
    defaults = {"retry_initial": 0.05, "retry_max": 0.2, "timeout": 2}
    d = Delivery(target, DeliverySettings(**{**defaults, **settings}), ledger)  # type: ignore[arg-type]
    return d, ledger


def wait_idle(d: Delivery, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not d.idle:
        assert time.monotonic() < deadline, "delivery did not finish"
        time.sleep(0.02)


def statuses(ledger: MemoryLedger) -> list[tuple[str, int, str]]:
    return [(r["target"], r["attempt"], r["status"]) for r in ledger.rows]


def test_a_receiver_that_is_down_gets_the_messages_afterwards_in_order(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    down_until = [0.0]

    def respond(path: str, n: int) -> tuple[int, str, float]:
        if n == 0:
            down_until[0] = time.monotonic() + 0.6  # down for 0.6 s from the first request
        return (503, "busy", 0) if time.monotonic() < down_until[0] else (200, "ok", 0)

    with HttpReceiver(respond) as server:
        d, ledger = delivery(server)
        d.start()
        d.submit(message("a"))
        d.submit(message("b"))
        wait_idle(d)
        d.stop(5)
    delivered = [r.body["alerts"][0]["target"] for r in server.at(SECRET_PATH)[-2:]]
    assert delivered == ["a", "b"]
    rows = statuses(ledger)
    assert rows[-2:] == [("a", rows[-2][1], "sent"), ("b", 1, "sent")]
    assert rows[0] == ("a", 1, "failed") and rows[-2][1] >= 3  # backoff 0.05, 0.1, 0.2, 0.2 …
    failed = [r for r in ledger.rows if r["status"] == "failed"]
    assert {r["http_status"] for r in failed} == {503} and failed[0]["error"] == "HTTP 503: busy"
    everything = json.dumps(ledger.rows) + caplog.text
    assert "T0KEN-abc123" not in everything


def test_a_refusal_is_given_up_at_once_and_the_next_message_goes_on() -> None:
    with HttpReceiver(lambda path, n: (404, f"no_service at {SECRET_PATH}", 0) if n == 0
                      else (200, "ok", 0)) as server:
        d, ledger = delivery(server)
        d.start()
        d.submit(message("a"))
        d.submit(message("b"))
        wait_idle(d)
        d.stop(5)
    assert statuses(ledger) == [("a", 1, "gave_up"), ("b", 1, "sent")]
    assert ledger.rows[0]["error"] == "HTTP 404: no_service at <redacted>"


def test_a_message_is_given_up_after_give_up_after() -> None:
    with HttpReceiver(lambda path, n: (500, "", 0)) as server:
        d, ledger = delivery(server, give_up_after=0.3)
        d.start()
        d.submit(message("a"))
        wait_idle(d)
        d.stop(5)
    rows = statuses(ledger)
    assert rows[-1][2] == "gave_up" and all(s == "failed" for _, _, s in rows[:-1])
    assert 2 <= len(rows) <= 5


def test_a_hung_receiver_times_out_and_is_retried() -> None:
    with HttpReceiver(lambda path, n: (200, "ok", 1.0 if n == 0 else 0)) as server:
        d, ledger = delivery(server, timeout=0.2)
        d.start()
        d.submit(message("a"))
        wait_idle(d)
        d.stop(5)
    assert statuses(ledger) == [("a", 1, "failed"), ("a", 2, "sent")]
    assert ledger.rows[0]["error"] == "timed out (ReadTimeout)"


def test_retry_after_of_a_429_is_honoured_up_to_retry_max() -> None:
    with HttpReceiver(lambda path, n: (429, "", 0) if n == 0 else (200, "ok", 0)) as server:
        server.headers["Retry-After"] = "30"
        d, ledger = delivery(server, retry_initial=0.05, retry_max=0.4)
        d.start()
        d.submit(message("a"))
        wait_idle(d)
        d.stop(5)
    first, second = server.at(SECRET_PATH)
    assert 0.38 <= second.at - first.at < 2  # 30 s asked, cut to retry_max; not retry_initial
    assert statuses(ledger) == [("a", 1, "failed"), ("a", 2, "sent")]


def test_a_full_queue_drops_its_oldest_message_with_a_row() -> None:
    with HttpReceiver(lambda path, n: (200, "ok", 0)) as server:
        d, ledger = delivery(server, queue_size=2)
        d.submit(message("a"))  # not started yet: everything queues
        d.submit(message("b"))
        d.submit(message("c"))
        d.start()
        wait_idle(d)
        d.stop(5)
    assert statuses(ledger) == [("a", 1, "dropped"), ("b", 1, "sent"), ("c", 1, "sent")]
    assert ledger.rows[0]["error"].startswith("queue full (delivery.queue_size 2)")


def test_stopping_records_what_is_still_queued_as_dropped() -> None:
    with HttpReceiver(lambda path, n: (503, "", 0)) as server:
        d, ledger = delivery(server, retry_initial=5, retry_max=5)
        d.start()
        d.submit(message("a"))
        d.submit(message("b"))
        server.wait_for(SECRET_PATH, 1)
        time.sleep(0.1)
        started = time.monotonic()
        d.stop(5)
        assert time.monotonic() - started < 2  # the backoff wait is cut short
    assert statuses(ledger) == [("a", 1, "failed"), ("a", 2, "dropped"), ("b", 1, "dropped")]
    assert ledger.rows[-1]["error"] == "the aggregator stopped before it was sent"
