"""Delivery to one receiver: a bounded queue and a thread of its own that sends the messages
in order, retrying each with exponential backoff, and writes every attempt to
health_notifications.

A receiver that is down holds up only its own queue: the evaluation never waits for it (the
notifier only queues), and other receivers have their own threads. While the head message is
retried, later ones wait behind it, so a resolve never overtakes its trigger. A message is
given up `give_up_after` after it was queued; when the queue is full, its oldest message is
dropped to make room. Both leave a row saying so.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from aggregator.notify.compose import Message
from aggregator.notify.endpoints import Endpoint
from aggregator.notify.ledger import Ledger, now, row
from aggregator.notify.text import headline
from aggregator.store.base import StoreError
from llmhealth_config.notifications import DeliverySettings
from llmhealth_config.product import __version__

log = logging.getLogger("llmhealth.notify")
BODY_IN_ERROR = 200
"""Characters of a refusing response's body kept in the error text."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool
    http_status: int = 0
    error: str = ""
    retry_after: float | None = None


def classify(response: httpx.Response, endpoint: Endpoint) -> Outcome:
    """2xx is delivered; 408, 429 and 5xx are retried (429 after its Retry-After); any other
    status is a refusal that retrying would not change (a wrong URL or routing key)."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True, False, status)
    text = " ".join(response.text[:BODY_IN_ERROR].split())
    error = endpoint.scrub(f"HTTP {status}" + (f": {text}" if text else ""))
    retry_after = None
    if status == 429:
        try:
            retry_after = float(response.headers.get("retry-after", ""))
        except ValueError:
            retry_after = None
    return Outcome(False, status in (408, 429) or status >= 500, status, error, retry_after)


def send(client: httpx.Client, endpoint: Endpoint, message: Message) -> Outcome:
    try:
        response = client.post(endpoint.url, json=endpoint.body(message), headers=endpoint.headers)
    except httpx.TimeoutException as exc:
        return Outcome(False, True, error=endpoint.scrub(f"timed out ({type(exc).__name__})"))
    except httpx.HTTPError as exc:
        return Outcome(False, True, error=endpoint.scrub(f"{type(exc).__name__}: {exc}"))
    return classify(response, endpoint)


class Delivery:
    """The queue and thread of one receiver (`endpoint`)."""

    def __init__(self, endpoint: Endpoint, settings: DeliverySettings, ledger: Ledger,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.ledger = ledger
        self._clock = clock
        self._queue: collections.deque[Message] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"llmhealth-notify-{endpoint.name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, message: Message) -> None:
        """Queue `message`; never blocks. A full queue drops its oldest message."""
        dropped = None
        with self._cond:
            if len(self._queue) >= self.settings.queue_size:
                dropped = self._queue.popleft()
            self._queue.append(message)
            self._cond.notify()
        if dropped is not None:
            self._drop(dropped, 1, f"queue full (delivery.queue_size {self.settings.queue_size}): "
                                   "dropped for a newer message")

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent."""
        with self._cond:
            return not self._queue and not self._busy

    def stop(self, timeout: float) -> None:
        """Stop after the request in flight; queued messages are recorded as dropped."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _next(self) -> Message | None:
        with self._cond:
            while not self._queue and not self._stop.is_set():
                self._cond.wait()
            if self._stop.is_set():
                return None
            self._busy = True
            return self._queue.popleft()

    def _run(self) -> None:
        timeout = self.settings.timeout
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                          headers={"User-Agent": f"llmhealth/{__version__}"}) as client:
            while (message := self._next()) is not None:
                try:
                    self._deliver(client, message)
                except Exception:  # a bug here must not end the receiver's deliveries
                    log.exception("notifier: delivery to %s failed unexpectedly", self.endpoint.name)
                finally:
                    with self._cond:
                        self._busy = False
        with self._cond:
            rest, self._queue = list(self._queue), collections.deque()
        for message in rest:
            self._drop(message, 1, "the aggregator stopped before it was sent")

    def _deliver(self, client: httpx.Client, message: Message) -> None:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            outcome = send(client, self.endpoint, message)
            took_ms = (time.perf_counter() - started) * 1000
            if outcome.ok:
                self._record(message, attempt, "sent", outcome, took_ms)
                log.info("notifier: sent to %s: %s", self.endpoint.name, headline(message.notifications))
                return
            wait = self._backoff(attempt, outcome.retry_after)
            age = self._clock() - message.created
            if not outcome.retryable or age + wait > self.settings.give_up_after:
                self._record(message, attempt, "gave_up", outcome, took_ms)
                log.error("notifier: gave up sending to %s after %d attempts (%s): %s",
                          self.endpoint.name, attempt, outcome.error,
                          headline(message.notifications))
                return
            self._record(message, attempt, "failed", outcome, took_ms)
            log.warning("notifier: sending to %s failed (attempt %d, next in %.1f s): %s",
                        self.endpoint.name, attempt, wait, outcome.error)
            if self._stop.wait(wait):
                self._drop(message, attempt + 1, "the aggregator stopped before it was sent")
                return

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        wait = min(self.settings.retry_max, self.settings.retry_initial * 2 ** (attempt - 1))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.settings.retry_max))
        return wait

    def _record(self, message: Message, attempt: int, status: str, outcome: Outcome,
                took_ms: float) -> None:
        at = now()
        self._write([row(n, instance=self.ledger.instance, attempt=attempt, status=status, at=at,
                         message_id=message.id, http_status=outcome.http_status,
                         duration_ms=took_ms, error=outcome.error)
                     for n in message.notifications])

    def _drop(self, message: Message, attempt: int, why: str) -> None:
        log.warning("notifier: %s: not sent to %s: %s", why, self.endpoint.name,
                    headline(message.notifications))
        at = now()
        self._write([row(n, instance=self.ledger.instance, attempt=attempt, status="dropped", at=at,
                         message_id=message.id, error=why) for n in message.notifications])

    def _write(self, rows: list[dict]) -> None:
        try:
            self.ledger.record(rows)
        except StoreError as exc:
            log.warning("notifier: could not record %d delivery rows of %s: %s", len(rows),
                        self.endpoint.name, self.endpoint.scrub(str(exc)))
