"""The configuration schema: every setting, its default and its validation.

Documented for users in docs/configuration.md; keep the two in step. Every model forbids
unknown keys, so a typo is an error that names the key instead of a silently ignored line.
Durations accept seconds as a number or a string with a unit (`500ms`, `10s`, `5m`, `1h`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> object:
    """Turn `10`, `10.5`, `"250ms"`, `"5m"` into seconds; leave other types to pydantic."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {value!r}: use a number of seconds or e.g. 500ms, 10s, 5m, 1h")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// URL, e.g. https://api.openai.com/v1")
    return value.rstrip("/")


def _env_name(value: str) -> str:
    # Never echo the value: a pasted API key would end up in the error text.
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ValueError("must be the NAME of an environment variable that holds the secret "
                         "(e.g. OPENAI_API_KEY), not the secret itself")
    return value


Url = Annotated[str, AfterValidator(_url)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Seconds = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]
Ratio = Annotated[float, Field(ge=0, le=1)]
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(Strict):
    """Status rules. A target is unhealthy at or above `unhealthy_error_rate`, degraded at or
    above `degraded_error_rate` or when a latency p99 is above its limit, otherwise healthy."""

    degraded_error_rate: Ratio = 0.05
    unhealthy_error_rate: Ratio = 0.5
    latency_p99: Seconds = 5.0
    ttft_p99: Seconds = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.degraded_error_rate > self.unhealthy_error_rate:
            raise ValueError(
                f"degraded_error_rate ({self.degraded_error_rate}) must not exceed "
                f"unhealthy_error_rate ({self.unhealthy_error_rate})"
            )
        return self


class ThresholdOverrides(Strict):
    """Per-target overrides: any field left out takes the global value."""

    degraded_error_rate: Ratio | None = None
    unhealthy_error_rate: Ratio | None = None
    latency_p99: Seconds | None = None
    ttft_p99: Seconds | None = None


ProbeKind = Literal["completion", "stream"]


class Target(Strict):
    """One model behind one endpoint, probed on its own schedule."""

    name: Annotated[str, Field(pattern=_NAME)]
    protocol: Literal["openai"] = "openai"
    base_url: Url
    model: Annotated[str, Field(min_length=1)]
    api_key_env: EnvName | None = None
    provider: str = "openai"
    probes: Annotated[list[ProbeKind], Field(min_length=1)] = ["completion", "stream"]
    interval: Seconds | None = None
    timeout: Seconds | None = None
    thresholds: ThresholdOverrides = ThresholdOverrides()

    @model_validator(mode="after")
    def _unique_probes(self) -> Target:
        if len(set(self.probes)) != len(self.probes):
            raise ValueError(f"probes lists a kind twice: {self.probes}")
        return self


class ProberSettings(Strict):
    interval: Seconds = 10.0
    timeout: Seconds = 10.0
    export_interval: Seconds = 2.0
    stream_max_tokens: Annotated[int, Field(ge=1, le=64)] = 8
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576


class AggregatorSettings(Strict):
    interval: Annotated[Seconds, Field(ge=1)] = 5.0
    window: Annotated[Seconds, Field(ge=1)] = 300.0


class ServerStore(Strict):
    """A ClickHouse server reached over the native protocol (clickhouse-driver)."""

    host: str = "127.0.0.1"
    port: Port = 9000
    user: str = "default"
    password_env: EnvName | None = None


class StoreSettings(Strict):
    mode: Literal["embedded", "server"] = "embedded"
    data_dir: Path = Path("./data")
    database: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "llmhealth"
    http_host: str = "127.0.0.1"
    http_port: Port = 8123
    max_insert_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024 * 1024
    server: ServerStore = ServerStore()


class CollectorSettings(Strict):
    grpc_port: Port = 4317
    http_port: Port = 4318
    batch_timeout: Seconds = 0.5


class RetentionSettings(Strict):
    metrics_days: Annotated[int, Field(ge=1, le=3650)] = 7
    snapshots_days: Annotated[int, Field(ge=1, le=3650)] = 30
    events_days: Annotated[int, Field(ge=1, le=3650)] = 365


class SimulatorSettings(Strict):
    host: str = "127.0.0.1"
    port: Port = 8900


class Config(Strict):
    targets: list[Target] = []
    thresholds: Thresholds = Thresholds()
    prober: ProberSettings = ProberSettings()
    aggregator: AggregatorSettings = AggregatorSettings()
    store: StoreSettings = StoreSettings()
    collector: CollectorSettings = CollectorSettings()
    retention: RetentionSettings = RetentionSettings()
    simulator: SimulatorSettings = SimulatorSettings()

    @model_validator(mode="after")
    def _unique_target_names(self) -> Config:
        seen: set[str] = set()
        for target in self.targets:
            if target.name in seen:
                raise ValueError(f"target name {target.name!r} is used twice; names must be unique")
            seen.add(target.name)
            try:
                self.thresholds_for(target)
            except ValidationError as exc:
                detail = exc.errors()[0]["msg"].removeprefix("Value error, ")
                raise ValueError(f"target {target.name!r}: thresholds override conflicts with "
                                 f"the global thresholds: {detail}") from None
        return self

    def thresholds_for(self, target: Target) -> Thresholds:
        """The global thresholds with the target's overrides applied."""
        overrides = target.thresholds.model_dump(exclude_none=True)
        return Thresholds(**{**self.thresholds.model_dump(), **overrides})

    def interval_for(self, target: Target) -> float:
        return target.interval or self.prober.interval

    def timeout_for(self, target: Target) -> float:
        return target.timeout or self.prober.timeout
