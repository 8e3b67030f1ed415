"""The configuration schema: every setting, its default and its validation.

Documented for users in docs/configuration.md; keep the two in step. Every model forbids
unknown keys, so a typo is an error that names the key instead of a silently ignored line.
Durations accept seconds as a number or a string with a unit (`500ms`, `10s`, `5m`, `1h`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from llmhealth.config.aggregator import AggregatorSettings
from llmhealth.config.target import LOCAL_PROTOCOLS, Target, Thresholds
from llmhealth.config.types import EnvName, Port, Seconds, Strict


class ProberSettings(Strict):
    interval: Seconds = 5.0
    timeout: Seconds = 10.0
    export_interval: Seconds = 1.0
    export_buffer: Seconds = 600.0
    stream_max_tokens: Annotated[int, Field(ge=1, le=64)] = 8
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    endpoint_concurrency: Annotated[int, Field(ge=1)] = 8
    local_concurrency: Annotated[int, Field(ge=1)] = 1
    confirm_delay: Seconds = 1.0
    backoff_after: Annotated[int, Field(ge=1)] = 6
    backoff_max: Seconds = 60.0
    retry_after_max: Seconds = 300.0
    discovery_interval: Seconds = 30.0


class ServerStore(Strict):
    """A ClickHouse server reached over the native protocol (clickhouse-driver)."""

    host: str = "127.0.0.1"
    port: Port = 9000
    user: str = "default"
    password_env: EnvName | None = None


class ReaderLimits(Strict):
    """What one query of user `reader` (people, Grafana) may take from the embedded store."""

    max_execution_time: Annotated[int, Field(ge=1)] = 60
    max_memory_usage: Annotated[int, Field(ge=16 * 1024 * 1024)] = 1024 * 1024 * 1024
    max_result_rows: Annotated[int, Field(ge=1)] = 1_000_000
    max_threads: Annotated[int, Field(ge=1)] = 1
    concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    queue_timeout: Seconds = 10.0


class StoreSettings(Strict):
    mode: Literal["embedded", "server"] = "embedded"
    data_dir: Path = Path("./data")
    database: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "llmhealth"
    http_host: str = "127.0.0.1"
    http_port: Port = 8123
    http_allowed_hosts: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9.:\[\]-]+$")]] = []
    password_env: EnvName = "LLMHEALTH_STORE_PASSWORD"
    reader_password_env: EnvName | None = None
    reader_limits: ReaderLimits = ReaderLimits()
    max_insert_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024 * 1024
    server: ServerStore = ServerStore()


class CollectorSettings(Strict):
    grpc_port: Port = 4317
    http_port: Port = 4318
    batch_timeout: Seconds = 0.5


class RetentionSettings(Strict):
    metrics_days: Annotated[int, Field(ge=1, le=3650)] = 7
    snapshots_days: Annotated[int, Field(ge=1, le=3650)] = 7
    events_days: Annotated[int, Field(ge=1, le=3650)] = 365
    minutes_days: Annotated[int, Field(ge=1, le=3650)] = 7
    rollups_days: Annotated[int, Field(ge=1, le=3650)] = 400


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
        for target in self.targets:
            if target.pool in seen:
                raise ValueError(f"target {target.name!r}: pool {target.pool!r} has the name of a "
                                 "target; pools and targets share one namespace")
        return self

    @property
    def pools(self) -> dict[str, list[str]]:
        """Pool name → names of its member targets (configured order)."""
        pools: dict[str, list[str]] = {}
        for target in self.targets:
            if target.pool:
                pools.setdefault(target.pool, []).append(target.name)
        return pools

    def thresholds_for(self, target: Target) -> Thresholds:
        """The global thresholds with the target's overrides applied."""
        overrides = target.thresholds.model_dump(exclude_none=True)
        return Thresholds(**{**self.thresholds.model_dump(), **overrides})

    def interval_for(self, target: Target) -> float:
        return target.interval or self.prober.interval

    def timeout_for(self, target: Target) -> float:
        return target.timeout or self.prober.timeout

    def concurrency_for(self, target: Target) -> int:
        """At most this many probes in flight at once on the target's endpoint."""
        if target.concurrency is not None:
            return target.concurrency
        local = target.protocol in LOCAL_PROTOCOLS
        return self.prober.local_concurrency if local else self.prober.endpoint_concurrency
