"""The shared call shape of every probe: `ProbeFn(ctx) -> ProbeResult`.

A protocol module (`prober/openai.py`, `anthropic.py`, `ollama.py`, `lmstudio.py`,
`http_check.py`) exposes `PROBES: dict[kind, ProbeFn]`; the dispatcher looks a target's
protocol and kind up there and knows nothing else about the protocol. A probe never raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from llmhealth_config.target import Target
from prober.bounds import Bounds
from prober.chat_shape import ShapeMemory
from prober.outcome import ProbeResult


@dataclass(frozen=True)
class ProbeContext:
    """Everything one probe of one target needs. `api_key` is None for targets without
    `api_key_env`; `timeout` bounds the whole probe and `bounds` its first byte and the
    silences of its body (None: only `timeout`); no body read may exceed `max_body_bytes`;
    `stream_max_tokens` caps a `stream` probe's answer. `memory` keeps what the target's chat
    probes learned from requests the model refused (`prober.rejection`): one context serves
    every probe of a target, so each probe starts from what the previous ones learned."""

    client: httpx.AsyncClient
    target: Target
    api_key: str | None
    timeout: float
    max_body_bytes: int
    stream_max_tokens: int = 8
    bounds: Bounds | None = None
    memory: ShapeMemory = field(default_factory=ShapeMemory, compare=False)

    @property
    def base_url(self) -> str:
        return self.target.base_url.rstrip("/")


ProbeFn = Callable[[ProbeContext], Awaitable[ProbeResult]]
