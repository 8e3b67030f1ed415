"""What to probe: one target is one model (or one health URL) behind one endpoint.

Each protocol offers a fixed set of probe kinds (`KINDS`); a target's `provider` and `probes`
default per protocol. Cross-field rules (a model for chat protocols, `api_version` for Azure,
discovery only for local servers) are checked here so that a bad target fails at load time
with its path and line, never later inside the prober.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from llmhealth_config.errors import rule_error
from llmhealth_config.intervals import FAST_MIN_INTERVAL_S, interval_problem
from llmhealth_config.passive import PassiveSelector
from llmhealth_config.types import (
    NAME_PATTERN,
    AutoSeconds,
    EnvName,
    Ratio,
    Seconds,
    Strict,
    Url,
)

Protocol = Literal["openai", "azure", "anthropic", "ollama", "lmstudio", "http"]
ProbeKind = Literal["models", "completion", "stream", "http", "context"]

KINDS: dict[str, tuple[str, ...]] = {
    "openai": ("models", "completion", "stream", "context"),
    "azure": ("completion", "stream", "context"),
    "anthropic": ("models", "completion", "stream", "context"),
    "ollama": ("models", "completion", "stream", "context"),
    "lmstudio": ("models", "completion", "stream", "context"),
    "http": ("http",),
}
"""The probe kinds each protocol supports. `context` (a two-turn conversation) is opt-in."""

DEFAULT_PROVIDER = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "ollama": "ollama",
    "lmstudio": "lmstudio",
    "http": "http",
}
"""`gen_ai.provider.name` when a target names none (GenAI semantic-convention values)."""

LOCAL_PROTOCOLS = frozenset({"ollama", "lmstudio"})
"""Servers on the operator's own machine: one probe at a time by default, discovery allowed."""

TOKENLESS_KINDS = frozenset({"models", "http"})
"""Probe kinds that spend no tokens; what a target falls back to when its budget is spent."""

MAX_OUTPUT_TOKENS = 4096
"""The largest `max_output_tokens` a target may set, and the largest token limit a probe
raises itself to when a provider states a floor: a probe asks for a one-word answer, so a
larger limit is a typo, and a model that really answers at length would bill every probe."""


class Thresholds(Strict):
    """Status rules. A target is unhealthy at or above `unhealthy_error_rate`, degraded at or
    above `degraded_error_rate` (error-rate rules from `min_requests` requests on), when a
    latency p99 is above its limit or when a rate limit is forecast to run out within
    `ratelimit_exhaustion` seconds (before it resets), otherwise healthy."""

    degraded_error_rate: Ratio = 0.05
    unhealthy_error_rate: Ratio = 0.5
    latency_p99: Seconds = 5.0
    ttft_p99: Seconds = 2.0
    min_requests: Annotated[int, Field(ge=1)] = 30
    ratelimit_exhaustion: Seconds = 60.0

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
    min_requests: Annotated[int, Field(ge=1)] | None = None
    ratelimit_exhaustion: Seconds | None = None


class HttpCheck(Strict):
    """A custom HTTP check (protocol `http`): `method` on the target's `base_url`; ok when the
    status is one of `expect_status` and every body condition given holds."""

    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: Annotated[list[Annotated[int, Field(ge=100, le=599)]], Field(min_length=1)] = [200]
    body_contains: Annotated[str, Field(min_length=1)] | None = None
    json_path: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")] | None = None
    json_equals: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _json_pair(self) -> HttpCheck:
        if self.json_equals is not None and self.json_path is None:
            raise ValueError("json_equals needs json_path (the dotted key to compare)")
        if self.method == "HEAD" and (self.body_contains or self.json_path):
            raise ValueError("a HEAD response has no body: use method GET with body_contains or "
                             "json_path")
        return self


class Price(Strict):
    """USD per million tokens, for the estimated cost of each probe."""

    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]


class Target(Strict):
    """One model behind one endpoint, probed on its own schedule."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    protocol: Protocol = "openai"
    base_url: Url
    model: Annotated[str, Field(min_length=1)] | None = None
    discover: bool = False
    api_key_env: EnvName | None = None
    api_version: Annotated[str, Field(min_length=1)] | None = None
    provider: str = ""
    pool: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    probes: list[ProbeKind] | None = None
    reasoning: bool | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=MAX_OUTPUT_TOKENS)] | None = None
    check: HttpCheck | None = None
    interval: Seconds | None = None
    context_interval: Seconds | None = None
    allow_fast_interval: bool = False
    timeout: Seconds | None = None
    first_byte_timeout: AutoSeconds | None = None
    gap_timeout: AutoSeconds | None = None
    concurrency: Annotated[int, Field(ge=1)] | None = None
    daily_token_budget: Annotated[int, Field(ge=0)] | None = None
    price: Price | None = None
    thresholds: ThresholdOverrides = ThresholdOverrides()
    passive: PassiveSelector = PassiveSelector()

    @model_validator(mode="before")
    @classmethod
    def _protocol_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        protocol = data.get("protocol", "openai")
        if protocol not in KINDS:
            return data  # the Literal check reports it
        defaults = {
            "provider": DEFAULT_PROVIDER[protocol],
            "probes": ["http"] if protocol == "http" else ["completion", "stream"],
        }
        if data.get("discover"):
            defaults["probes"] = ["models", "completion", "stream"]
        # `probes: []` is a passive-only target (judged on applications' requests alone)
        return {**data, **{k: v for k, v in defaults.items()
                           if (data.get(k) is None if k == "probes" else not data.get(k))}}

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        kinds = self.probes or []
        if not kinds and (self.discover or self.protocol == "http" or not self.passive.enabled):
            raise ValueError("probes: [] makes a passive-only target, judged on applications' "
                             "requests alone: it needs a model (not discover or protocol http) "
                             "and passive.enabled")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"probes lists a kind twice: {kinds}")
        allowed = KINDS[self.protocol]
        for kind in kinds:
            if kind not in allowed:
                raise ValueError(f"probe kind {kind!r} is not available for protocol "
                                 f"{self.protocol!r} (available: {', '.join(allowed)})")
        if self.discover:
            if self.protocol not in LOCAL_PROTOCOLS:
                raise ValueError(f"discover is only available for protocols ollama and lmstudio, "
                                 f"not {self.protocol!r}")
            if self.model is not None:
                raise ValueError("model must be left out when discover is true: every installed "
                                 "model becomes a target")
        elif self.model is None and self.protocol != "http":
            raise ValueError(f"model is required for protocol {self.protocol!r} (or set discover: "
                             "true on an ollama or lmstudio target)")
        if self.protocol == "azure" and self.api_version is None:
            raise ValueError("api_version is required for protocol 'azure', e.g. 2024-10-21")
        if self.check is not None and self.protocol != "http":
            raise ValueError("check is only available for protocol 'http'")
        if (self.reasoning or self.reasoning_effort) and self.protocol not in ("openai", "azure"):
            raise ValueError("reasoning and reasoning_effort apply to protocols openai and azure only")
        if self.context_interval is not None and "context" not in kinds:
            raise ValueError("context_interval applies to the context probe: add context to probes")
        if self.max_output_tokens is not None and self.protocol == "http":
            raise ValueError("max_output_tokens applies to the chat probes (completion, stream), "
                             "not to protocol 'http'")
        return self

    @model_validator(mode="after")
    def _interval_floor(self) -> Target:
        """`interval` and `context_interval` respect the floor (llmhealth_config.intervals)
        unless opted out of."""
        for key in ("interval", "context_interval"):
            value = getattr(self, key)
            if value is None:
                continue
            problem = interval_problem(value, self.allow_fast_interval, opt_in=(
                f", or at least {FAST_MIN_INTERVAL_S:g} s with allow_fast_interval: true on this "
                "target"))
            if problem:
                raise rule_error(problem, at=(key,))
        return self

    @property
    def kinds(self) -> list[str]:
        """The probe kinds to run (empty for a passive-only target: `probes: []`)."""
        return list(self.probes or [])

    @property
    def http_check(self) -> HttpCheck:
        return self.check or HttpCheck()

    def discovered(self, model: str) -> Target:
        """The target for one model found by discovery on this endpoint: named
        `<name>/<model>`, probed like this target."""
        fields = self.model_dump(exclude={"name", "model", "discover"})
        return Target.model_validate({**fields, "name": f"{self.name}/{model}", "model": model})
