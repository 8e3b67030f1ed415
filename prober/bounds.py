"""How long one probe may go without a byte before it is cut as `timeout`: the first-byte
bound and the gap bound of a (target, kind) pair.

A provider that hangs would otherwise hold every probe for the whole `prober.timeout`, and
the failures that open the circuit breaker would come one timeout apart. Two bounds end a
probe earlier, both measured on the response body:

* **first byte**: from the start of the request (connecting included) to the first byte of
  the body. Response headers alone do not count, since many servers send them at once and
  compute afterwards.
* **gap**: the longest silence between two reads of the body once it started (a stream
  that stalls, a body that stops halfway).

Each is a fixed number of seconds or `auto`. An `auto` bound comes from the pair's own
history of its last `HISTORY` successful probes that read a body: the first-byte bound is
`max(floor, factor × the longest first byte seen)`, the gap bound `max(floor, factor × the
longest first byte or silence seen)` (a body may pause as long as it may take to start). So
a slow model gets long bounds of its own and a fast one the floor. It cuts nothing before
`samples` successful probes were seen, nor once the pair has failed `lift_after` times in a
row (the backoff): those probes run to the whole `timeout`, so a model that became slow
rather than hung is measured, and its bound grows with it. A fixed bound applies from the
first probe on and is never lifted. A bound at or above `timeout` is no bound.

Local servers (`ollama`, `lmstudio`) load a model into memory on the first request after it
was unloaded (another model needed the memory, or it sat idle), which takes seconds to
minutes before the first byte: their chat probes (`completion`, `stream`, `context`) get no `auto`
first-byte bound (the gap bound still applies once the model answers).

Pure arithmetic on recorded durations, so every rule is unit-testable without a server.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from llmhealth_config.model import Config
from llmhealth_config.target import LOCAL_PROTOCOLS, Target
from prober.outcome import OK, ProbeResult

HISTORY = 50
"""Successful probes per (target, kind) whose first byte and longest silence are kept."""

CHAT_KINDS = frozenset({"completion", "stream", "context"})
"""The kinds that make a local server load its model."""

Setting = float | Literal["auto"]


@dataclass(frozen=True)
class BoundRules:
    """The settings of one (target, kind): `first_byte` and `gap` are seconds or `auto`."""

    timeout: float
    first_byte: Setting
    gap: Setting
    factor: float
    floor: float
    samples: int
    lift_after: int

    @classmethod
    def of(cls, config: Config, target: Target, kind: str) -> BoundRules:
        """The rules of `kind` on `target`: its settings, with no `auto` first-byte bound for
        a local server's chat probes."""
        prober = config.prober
        timeout = config.timeout_for(target)
        first_byte = config.first_byte_timeout_for(target)
        if first_byte == "auto" and target.protocol in LOCAL_PROTOCOLS and kind in CHAT_KINDS:
            first_byte = timeout
        return cls(timeout=timeout, first_byte=first_byte,
                   gap=config.gap_timeout_for(target), factor=prober.auto_timeout_factor,
                   floor=prober.auto_timeout_floor, samples=prober.auto_timeout_samples,
                   lift_after=prober.backoff_after)


@dataclass(frozen=True)
class Bounds:
    """The bounds of one probe in seconds; None where only the whole timeout applies."""

    first_byte: float | None = None
    gap: float | None = None


NO_BOUNDS = Bounds()


class BoundHistory:
    """The first bytes and longest silences of one (target, kind)'s recent successful
    probes, and the bounds they give its next probe."""

    def __init__(self, rules: BoundRules) -> None:
        self.rules = rules
        self._first_bytes: deque[float] = deque(maxlen=HISTORY)
        self._silences: deque[float] = deque(maxlen=HISTORY)

    def learn(self, result: ProbeResult) -> None:
        """Keep the timing of a successful probe that read a body (a body read in one piece
        counts as a silence of 0); ignore any other result."""
        if result.outcome != OK or result.first_byte_s is None:
            return
        self._first_bytes.append(result.first_byte_s)
        self._silences.append(result.max_silence_s or 0.0)

    def bounds(self, failures: int) -> Bounds:
        """The bounds of the next probe, after `failures` consecutive failed probes."""
        longest_first_byte = max(self._first_bytes, default=0.0)
        longest_pause = max(longest_first_byte, max(self._silences, default=0.0))
        return Bounds(self._bound(self.rules.first_byte, longest_first_byte, failures),
                      self._bound(self.rules.gap, longest_pause, failures))

    def _bound(self, setting: Setting, longest: float, failures: int) -> float | None:
        rules = self.rules
        if setting == "auto":
            if len(self._first_bytes) < rules.samples or failures >= rules.lift_after:
                return None
            setting = max(rules.floor, rules.factor * longest)
        return setting if setting < rules.timeout else None
