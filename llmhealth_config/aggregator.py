"""Settings of the health model the aggregator's SQL evaluates (docs/configuration.md,
"Health model"): evaluation instants, windows, circuit breaker, hysteresis, staleness, SLO;
and where the aggregator's HTTP API (`GET /metrics`) listens."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from llmhealth_config.types import EnvName, ListenHost, Port, Ratio, Seconds, Strict


def _network(value: str) -> str:
    """An IP address or network in CIDR form (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`)."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network: use e.g. 10.0.0.0/8, "
                         "192.0.2.7 or fd00::/8") from None


def _prober_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.path not in ("", "/"):
        raise ValueError("must be http://host:port of the prober's activity endpoint "
                         "(prober.http_host and prober.http_port), e.g. http://prober:8081")
    return value.rstrip("/")


class BreakerSettings(Strict):
    """Circuit breaker per target: `closed` → `open` on `failures` consecutive failed probes, or
    on an error rate at or above `error_rate` over the status window with at least
    `min_requests` requests; after `cooldown`, `open` → `closed` when the last `successes`
    probes succeeded, else `open` → `half_open`; `half_open` → `closed` after `successes`
    consecutive successful probes, back to `open` on a failure."""

    failures: Annotated[int, Field(ge=1, le=100)] = 3
    successes: Annotated[int, Field(ge=1, le=100)] = 2
    error_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_requests: Annotated[int, Field(ge=1)] = 10
    cooldown: Seconds = 5.0


class AggregatorSettings(Strict):
    interval: Annotated[Seconds, Field(ge=1)] = 2.0
    window: Annotated[Seconds, Field(ge=1)] = 300.0
    windows: Annotated[list[Annotated[Seconds, Field(ge=1, le=86400)]],
                       Field(min_length=1, max_length=8)] = [60.0, 300.0, 3600.0]
    hysteresis: Annotated[int, Field(ge=1, le=100)] = 2
    stale_intervals: Annotated[float, Field(ge=1)] = 3.0
    backfill: Annotated[Seconds, Field(ge=0)] = 600.0
    slo: Annotated[Ratio, Field(gt=0, lt=1)] = 0.995
    breaker: BreakerSettings = BreakerSettings()
    http_host: ListenHost = "127.0.0.1"
    http_port: Port = 8080
    probe_token_env: EnvName | None = None
    diagnostics_allow: list[Annotated[str, AfterValidator(_network)]] = []
    prober_url: Annotated[str, AfterValidator(_prober_url)] | None = None

    @model_validator(mode="after")
    def _status_window_listed(self) -> AggregatorSettings:
        if self.window not in self.windows:
            raise ValueError(f"window ({self.window:g} s, the status window) must be one of "
                             f"windows ({', '.join(f'{w:g}' for w in self.windows)} s)")
        if len(set(self.windows)) != len(self.windows):
            raise ValueError("windows lists a window twice")
        return self
