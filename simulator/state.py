"""Mutable runtime state of one simulator app: behaviours, schedule clocks, counters, RNG."""

from __future__ import annotations

import json
import random
import time
from collections import deque
from dataclasses import dataclass

from simulator.behavior import ErrorKind, ModelBehavior
from simulator.chat_request import DEFAULT_MAX_TOKENS, ChatRequest
from simulator.errors import ApiError
from simulator.latency import sample_latency
from simulator.quota import Admission, Quotas
from simulator.waiting import Waiter

REQUEST_LOG = 100
"""Chat request bodies kept per model (the newest)."""


@dataclass
class Counters:
    """Requests received for one model, how many of them got an injected fault and how many
    were refused for breaking the model's request rules."""

    requests: int = 0
    errors: int = 0
    refused: int = 0


class SimState:
    """Everything the routes share. All methods run on the server's event loop thread."""

    def __init__(self, models: dict[str, ModelBehavior], seed: int | None) -> None:
        self.rng = random.Random(seed)
        self.waiter = Waiter()
        self.created = int(time.time())
        self._behaviors: dict[str, ModelBehavior] = {}
        self._clocks: dict[str, float] = {}
        self._counters: dict[str, Counters] = {}
        self._received: dict[str, deque[object]] = {}
        self._quotas = Quotas()
        # Models in memory on the local-server APIs (Ollama, LM Studio): name -> when last used
        # (wall clock). A chat request loads its model; Ollama's `keep_alive: 0` unloads it.
        self.resident: dict[str, float] = {}
        for name, behavior in models.items():
            self.replace(name, behavior)

    def names(self) -> list[str]:
        """Served model names in insertion order."""
        return list(self._behaviors)

    def behaviors(self) -> dict[str, ModelBehavior]:
        """Base behaviours (schedules included) by model name."""
        return dict(self._behaviors)

    def replace(self, name: str, behavior: ModelBehavior) -> None:
        """Set (or add) `name`'s behaviour and restart its schedule clock; counters persist."""
        self._behaviors[name] = behavior
        self._clocks[name] = time.monotonic()
        self._counters.setdefault(name, Counters())
        self._quotas.forget(name)

    def remove(self, name: str) -> bool:
        """Stop serving `name` (it is no longer listed or loaded); its counters persist.
        False when it was not served."""
        self.resident.pop(name, None)
        self._clocks.pop(name, None)
        return self._behaviors.pop(name, None) is not None

    def effective(self, name: str) -> ModelBehavior:
        """`name`'s behaviour right now; raises a 404 `ApiError` for an unknown model."""
        behavior = self._behaviors.get(name)
        if behavior is None:
            raise ApiError.model_not_found(name)
        return behavior.at(time.monotonic() - self._clocks[name])

    def draw_fault(self, name: str, behavior: ModelBehavior) -> ErrorKind | None:
        """Count one request for `name` and decide whether it fails: `error_kind` with
        probability `error_rate`, else None."""
        counters = self._counters[name]
        counters.requests += 1
        if behavior.error_rate > 0 and self.rng.random() < behavior.error_rate:
            counters.errors += 1
            return behavior.error_kind
        return None

    def admit(self, name: str, behavior: ModelBehavior, chat: ChatRequest) -> Admission | None:
        """Charge `chat` to `name`'s rate limit (None: the model has none). A request refused
        by the limit counts as a request and an error."""
        if behavior.rate_limit is None:
            return None
        tokens = chat.prompt_tokens() + (chat.token_limit or DEFAULT_MAX_TOKENS)
        admission = self._quotas.admit(name, behavior.rate_limit, tokens,
                                       time.monotonic() - self._clocks[name])
        if not admission.admitted:
            counters = self._counters[name]
            counters.requests += 1
            counters.errors += 1
        return admission

    def loses_context(self, behavior: ModelBehavior) -> bool:
        """Whether this conversation loses its earlier turns: with probability
        `context_loss_rate` (no draw when it is 0, so other draws stay reproducible)."""
        rate = behavior.context_loss_rate
        return rate > 0 and (rate >= 1 or self.rng.random() < rate)

    def record_request(self, name: str, body: bytes) -> None:
        """Keep a chat request's JSON body for `received` (the newest REQUEST_LOG)."""
        log = self._received.setdefault(name, deque(maxlen=REQUEST_LOG))
        log.append(json.loads(body))

    def received(self, name: str) -> list[object]:
        """The chat request bodies received for `name`, oldest first."""
        return list(self._received.get(name, ()))

    def count_refused(self, name: str) -> None:
        """Count one request for `name` refused by its request rules."""
        counters = self._counters[name]
        counters.requests += 1
        counters.refused += 1

    def latency(self, behavior: ModelBehavior) -> float:
        """Sample a whole-request latency for a non-stream request."""
        return sample_latency(self.rng, behavior.latency_p50, behavior.latency_p99)

    def ttft(self, behavior: ModelBehavior) -> float:
        """Sample a time to first chunk for a stream."""
        return sample_latency(self.rng, behavior.ttft_p50, behavior.ttft_p99)

    def completion_id(self) -> str:
        """A fresh `chatcmpl-…` id, reproducible under a fixed seed."""
        return f"chatcmpl-{self.rng.getrandbits(96):024x}"

    def stats(self) -> dict[str, dict[str, int]]:
        """`{name: {"requests": n, "errors": n, "refused": n}}` for every model ever served."""
        return {
            name: {"requests": c.requests, "errors": c.errors, "refused": c.refused}
            for name, c in self._counters.items()
        }
