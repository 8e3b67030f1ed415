"""The request and answers of `POST /api/health/probe` (docs/api.md, Probe now): pydantic models,
so that /openapi.json describes every field. Durations in seconds (`_s`), times ISO 8601 in UTC,
null where the probe did not get that far."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProbeRequest(Model):
    """Which target to probe; absent or null: every configured target."""

    target: str | None = Field(default=None, min_length=1, description="a configured target's name")


class ProbeOutcome(Model):
    """One probe: its outcome and timings. `connect_s` is the time spent opening a connection
    (TCP connect and TLS handshake), null when the probe opened none: `connection` is then
    `reused` (it went out on an open connection) or null (no request was sent: its key
    variable is unset in the aggregator's environment). `first_byte_s`, `ttft_s` and
    `duration_s` count from the probe's start, connecting included."""

    target: str
    kind: str
    outcome: str = Field(description="`ok` or an error type (docs/metrics.md)")
    ok: bool
    http_status: int | None
    detail: str = Field(description="why it failed; empty when ok; never a key")
    connection: Literal["new", "reused"] | None
    connect_s: float | None
    first_byte_s: float | None
    ttft_s: float | None = Field(description="time to the first content chunk (stream probes)")
    duration_s: float
    input_tokens: int | None
    output_tokens: int | None
    tokens_per_s: float | None
    started_at: datetime


class ProbeRun(Model):
    """Every probe of the run, in the configuration's order (a `discover: true` endpoint: its
    model listing as its `models` probe, then each model it lists); `probes` and `failed`
    count them."""

    results: list[ProbeOutcome]
    probes: int
    failed: int
    duration_s: float = Field(description="seconds the whole run took")


class Refused(Model):
    """Why the request was not run."""

    detail: str
