"""The configuration schema: every setting, its default and its validation.

Documented for users in docs/configuration.md; keep the two in step. Every model forbids
unknown keys, so a typo is an error that names the key instead of a silently ignored line.
Durations accept seconds as a number or a string with a unit (`500ms`, `10s`, `5m`, `1h`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError, model_validator

from llmhealth_config.aggregator import AggregatorSettings
from llmhealth_config.errors import rule_error
from llmhealth_config.intervals import FAST_MIN_INTERVAL_S, interval_problem
from llmhealth_config.notifications import NotificationSettings
from llmhealth_config.store_url import check_store_url
from llmhealth_config.target import LOCAL_PROTOCOLS, Target, Thresholds
from llmhealth_config.types import AutoSeconds, EnvName, ListenHost, Port, Seconds, Strict


def _probe_interval_floor(seconds: float) -> float:
    problem = interval_problem(seconds, allow_fast=False, opt_in=(
        ": it applies to every target; to probe one target faster, set that target's interval "
        "and allow_fast_interval: true"))
    if problem:
        raise ValueError(problem)
    return seconds


class ProberSettings(Strict):
    interval: Annotated[Seconds, AfterValidator(_probe_interval_floor)] = 5.0
    timeout: Seconds = 10.0
    first_byte_timeout: AutoSeconds = "auto"
    gap_timeout: AutoSeconds = "auto"
    auto_timeout_factor: Annotated[float, Field(ge=1)] = 4.0
    auto_timeout_floor: Seconds = 1.0
    auto_timeout_samples: Annotated[int, Field(ge=1, le=50)] = 5
    export_interval: Seconds = 1.0
    export_buffer: Seconds = 600.0
    stream_max_tokens: Annotated[int, Field(ge=1, le=64)] = 8
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    endpoint_concurrency: Annotated[int, Field(ge=1)] = 8
    local_concurrency: Annotated[int, Field(ge=1)] = 1
    confirm_delay: Seconds = 1.0
    doubt_probes: Annotated[int, Field(ge=0)] = 120
    doubt_successes: Annotated[int, Field(ge=1)] = 30
    context_interval: Annotated[Seconds, AfterValidator(_probe_interval_floor)] = 300.0
    backoff_after: Annotated[int, Field(ge=1)] = 6
    backoff_max: Seconds = 60.0
    retry_after_max: Seconds = 300.0
    discovery_interval: Seconds = 30.0
    heartbeat_file: Path = Path(tempfile.gettempdir()) / "llmhealth-prober.heartbeat"
    http_host: ListenHost = "127.0.0.1"
    http_port: Port = 8081


class ReaderLimits(Strict):
    """What one query of user `reader` (people, Grafana) may take from the embedded store."""

    max_execution_time: Annotated[int, Field(ge=1)] = 60
    max_memory_usage: Annotated[int, Field(ge=16 * 1024 * 1024)] = 1024 * 1024 * 1024
    max_result_rows: Annotated[int, Field(ge=1)] = 1_000_000
    max_threads: Annotated[int, Field(ge=1)] = 1
    concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    queue_timeout: Seconds = 10.0


class StoreSettings(Strict):
    url: Annotated[str, AfterValidator(check_store_url)] | None = None
    data_dir: Path = Path("./data")
    database: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "llmhealth"
    http_host: str = "127.0.0.1"
    http_port: Port = 8123
    http_allowed_hosts: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9.:\[\]-]+$")]] = []
    password_env: EnvName = "LLMHEALTH_STORE_PASSWORD"
    reader_password_env: EnvName | None = None
    reader_limits: ReaderLimits = ReaderLimits()
    max_insert_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024 * 1024

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: object) -> object:
        if isinstance(data, dict) and ({"mode", "server"} & data.keys()):
            raise ValueError("store.mode and store.server were replaced by store.url: e.g. "
                             "url: clickhouse://default@host:9000/ (password in the variable "
                             "named by store.password_env); leave url unset for the embedded store")
        return data

    @property
    def endpoint_url(self) -> str:
        """Where parts in other processes reach the store: `url`, else the embedded store's
        HTTP endpoint on this machine."""
        return self.url or f"http://default@{self.http_host}:{self.http_port}/"


def _collector_endpoint(value: str) -> str:
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc}), e.g. http://otel-collector:4317") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ValueError("must be http://host:port or https://host:port of an OTLP/gRPC "
                         "receiver, without credentials, e.g. http://otel-collector:4317")
    return value


class CollectorSettings(Strict):
    endpoint: Annotated[str, AfterValidator(_collector_endpoint)] | None = None
    grpc_port: Port = 4317
    http_port: Port = 4318
    batch_timeout: Seconds = 0.5

    @property
    def export_endpoint(self) -> str:
        """Where the prober sends OTLP/gRPC: `endpoint`, else the local collector's port."""
        return self.endpoint or f"http://127.0.0.1:{self.grpc_port}"


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
    notifications: NotificationSettings = NotificationSettings()

    @model_validator(mode="after")
    def _unique_target_names(self) -> Config:
        first: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.name in first:
                raise rule_error(f"target name {target.name!r} is used twice (first at {{first}}); "
                                 "names must be unique", at=("targets", index, "name"),
                                 first=("targets", first[target.name], "name"))
            first[target.name] = index
            try:
                self.thresholds_for(target)
            except ValidationError as exc:
                detail = exc.errors()[0]["msg"].removeprefix("Value error, ")
                raise rule_error(f"the override conflicts with the global thresholds: {detail}",
                                 at=("targets", index, "thresholds")) from None
        for index, target in enumerate(self.targets):
            if target.pool in first:
                raise rule_error(f"pool {target.pool!r} is also the name of the target at "
                                 "{first}; pools and targets share one namespace",
                                 at=("targets", index, "pool"),
                                 first=("targets", first[target.pool], "name"))
        return self

    @model_validator(mode="after")
    def _discovery_interval_floor(self) -> Config:
        slow = [t.name for t in self.targets if t.discover and not t.allow_fast_interval]
        problem = interval_problem(self.prober.discovery_interval, allow_fast=not slow, opt_in=(
            f", or at least {FAST_MIN_INTERVAL_S:g} s when every discover: true target sets "
            f"allow_fast_interval: true (not set on {', '.join(map(repr, slow))})"))
        if problem:
            raise rule_error(problem, at=("prober", "discovery_interval"))
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

    def interval_for(self, target: Target, kind: str | None = None) -> float:
        """The target's probe interval; of its `context` kind when `kind` is that one."""
        if kind == "context":
            return target.context_interval or self.prober.context_interval
        return target.interval or self.prober.interval

    def timeout_for(self, target: Target) -> float:
        return target.timeout or self.prober.timeout

    def first_byte_timeout_for(self, target: Target) -> float | str:
        """Seconds, or `auto` (prober.bounds)."""
        return target.first_byte_timeout or self.prober.first_byte_timeout

    def gap_timeout_for(self, target: Target) -> float | str:
        """Seconds, or `auto` (prober.bounds)."""
        return target.gap_timeout or self.prober.gap_timeout

    @property
    def prober_url(self) -> str:
        """Where the aggregator reads the prober's activity: `aggregator.prober_url`, else the
        prober's endpoint on this machine."""
        return self.aggregator.prober_url or f"http://127.0.0.1:{self.prober.http_port}"

    def concurrency_for(self, target: Target) -> int:
        """At most this many probes in flight at once on the target's endpoint."""
        if target.concurrency is not None:
            return target.concurrency
        local = target.protocol in LOCAL_PROTOCOLS
        return self.prober.local_concurrency if local else self.prober.endpoint_concurrency
