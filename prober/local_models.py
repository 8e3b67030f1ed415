"""What a local server (Ollama, LM Studio) reports about its models, for discovery.

A protocol module with discovery exposes `discover(ctx) -> list[LocalModel]` (`ctx.target` is
the configured endpoint target, `model` None). It raises `DiscoveryError` with a message fit
for a log line (never a credential) when the list cannot be had.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prober.context import ProbeContext


@dataclass(frozen=True)
class LocalModel:
    """One installed model. `loaded` is whether it is in memory now (None when the server
    does not say); `vram_bytes` how much GPU memory it holds when loaded (None if unknown)."""

    name: str
    loaded: bool | None = None
    vram_bytes: int | None = None


class DiscoveryError(Exception):
    """The model list could not be read: unreachable server, error status, malformed body.
    `error_type` is one value of the outcome taxonomy."""

    def __init__(self, error_type: str, detail: str) -> None:
        super().__init__(f"{error_type}: {detail}")
        self.error_type = error_type
        self.detail = detail


DiscoverFn = Callable[[ProbeContext], Awaitable[list[LocalModel]]]
