"""How one simulated model behaves: latency, throughput, injected faults, a schedule and
the requests it refuses (`simulator.refusals`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.quota import RateLimit
from simulator.refusals import PRESETS, RequestRules

ErrorKind = Literal[
    "http_500", "http_429", "http_401", "timeout", "stream_cut", "stream_stall", "invalid_json",
    "empty",
]
Seconds = Annotated[float, Field(gt=0)]
Rate = Annotated[float, Field(ge=0, le=1)]


class Phase(BaseModel):
    """One step of a schedule: lasts `duration` seconds and overrides any subset of the
    base behaviour's fields (a field left out keeps the base value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: Seconds
    latency_p50: Seconds | None = None
    latency_p99: Seconds | None = None
    ttft_p50: Seconds | None = None
    ttft_p99: Seconds | None = None
    tokens_per_second: Seconds | None = None
    error_rate: Rate | None = None
    error_kind: ErrorKind | None = None
    hang_seconds: Seconds | None = None
    context_loss_rate: Rate | None = None

    def overrides(self) -> dict[str, object]:
        """The behaviour fields this phase sets explicitly."""
        return self.model_dump(exclude={"duration"}, exclude_none=True)


class ModelBehavior(BaseModel):
    """Behaviour of one simulated model. Times are in seconds.

    Non-stream requests take a whole-request latency drawn from a lognormal with median
    `latency_p50` and 99th percentile `latency_p99`; streams send their first chunk after a
    TTFT drawn the same way from `ttft_p50`/`ttft_p99`, then one chunk every
    1/`tokens_per_second`. Each request fails with `error_kind` with probability
    `error_rate`; a `timeout` fault hangs for `hang_seconds` before answering, a
    `stream_stall` goes silent for `hang_seconds` mid-answer (`simulator.stall`). A
    conversation (a request with earlier turns) is answered with what an earlier turn stated,
    except that with probability `context_loss_rate` the model loses the earlier turns and
    answers as if only the last message had arrived (`simulator.recall`). `schedule`
    phases cycle forever from the model's start time; an empty schedule means the base
    behaviour always. `rules` are what the model demands of a request
    (`simulator.refusals.RequestRules`, or the name of one of its `PRESETS`, e.g. `o3-mini`);
    a request that breaks one is refused with a 400 before any fault is drawn. `rate_limit`
    counts requests and tokens down in the OpenAI and Anthropic APIs' rate-limit headers and
    refuses a request that does not fit with a 429 (`simulator.quota`), before any fault is
    drawn too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_p50: Seconds = 0.05
    latency_p99: Seconds = 0.15
    ttft_p50: Seconds = 0.03
    ttft_p99: Seconds = 0.1
    tokens_per_second: Seconds = 200.0
    error_rate: Rate = 0.0
    error_kind: ErrorKind = "http_500"
    hang_seconds: Seconds = 3600.0
    context_loss_rate: Rate = 0.0
    schedule: list[Phase] = []
    rules: RequestRules = RequestRules()
    rate_limit: RateLimit | None = None

    @field_validator("rules", mode="before")
    @classmethod
    def _preset(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in PRESETS:
                raise ValueError(f"unknown preset {value!r} (presets: {', '.join(PRESETS)})")
            return PRESETS[value]
        return value

    @model_validator(mode="after")
    def _check_percentiles(self) -> ModelBehavior:
        if self.latency_p99 < self.latency_p50:
            raise ValueError(
                f"latency_p99 ({self.latency_p99}) must be >= latency_p50 ({self.latency_p50})"
            )
        if self.ttft_p99 < self.ttft_p50:
            raise ValueError(f"ttft_p99 ({self.ttft_p99}) must be >= ttft_p50 ({self.ttft_p50})")
        return self

    @model_validator(mode="after")
    def _check_phases(self) -> ModelBehavior:
        for index, phase in enumerate(self.schedule):
            try:
                self._merged(phase)
            except ValueError as exc:
                raise ValueError(f"schedule[{index}]: {exc}") from exc
        return self

    def at(self, elapsed_seconds: float) -> ModelBehavior:
        """Effective behaviour `elapsed_seconds` after the schedule started: the base merged
        with the active phase, with an empty schedule."""
        if not self.schedule:
            return self
        position = elapsed_seconds % sum(phase.duration for phase in self.schedule)
        for phase in self.schedule:
            if position < phase.duration:
                return self._merged(phase)
            position -= phase.duration
        # Floating-point rounding can leave `position` a hair past the last boundary.
        return self._merged(self.schedule[-1])

    def _merged(self, phase: Phase) -> ModelBehavior:
        base = self.model_dump(exclude={"schedule"})
        return ModelBehavior.model_validate({**base, **phase.overrides()})
