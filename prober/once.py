"""Probe now: every probe kind of one target, or of several, once, at once, with timings.

The command to try when adding a target (`llmhealth probe`) and the API's `POST
/api/health/probe` both run this. It uses the prober's own pieces, so a probe here is the one
the prober would send: the protocol's probe function (`prober.protocols`), the target's
timeout, fixed first-byte and gap bounds (`prober.bounds`; an `auto` bound has no history here
and does not apply), body and stream limits, a fresh `prober.clients.ClientPool` and the
endpoints' concurrency limits (`prober.endpoints`: a local Ollama is not probed in parallel).
A `discover: true` endpoint is listed first (`prober.discovery_loop.discover_once`, reported as
the endpoint's `models` probe) and each model it lists is then probed as the prober would
probe `<endpoint>/<model>`.

Results are returned, never exported: a try-out is not the monitoring record, and it spends
no target's `daily_token_budget` of a running prober.

Connect time is not on httpx's responses: a request hook hands httpcore a `trace` callback
that times the TCP connect and TLS handshake, attributed to the probe running in the current
asyncio task through a context variable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import ValidationError

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.apikeys import MissingApiKey, resolve_api_keys
from prober.attempt import redact
from prober.bounds import BoundHistory, BoundRules
from prober.clients import ClientPool
from prober.context import ProbeContext
from prober.discovery_loop import discover_once
from prober.endpoints import WAIT_SHARE, EndpointLimits
from prober.outcome import OK, ProbeResult
from prober.protocols import probe_for

log = logging.getLogger("prober")

T = TypeVar("T")
Connection = Literal["new", "reused"]
CONNECT_PHASES = ("connection.connect_tcp", "connection.start_tls")
"""httpcore's trace events (`<phase>.started`, `.complete`, `.failed`) of opening a connection."""


@dataclass(frozen=True)
class OnceResult:
    """One probe of a run. `started_at` is when it started (UTC), after its endpoint slot was
    granted. `connect_s` is the time it spent opening connections (TCP connect plus TLS
    handshake; also when that failed), None when it opened none: `connection` is then
    `reused` (its requests went out on a connection already open, e.g. another probe's of the
    same endpoint) or None (it sent no request, e.g. its key variable is unset)."""

    result: ProbeResult
    started_at: datetime
    connect_s: float | None
    connection: Connection | None

    @property
    def ok(self) -> bool:
        return self.result.outcome == OK


class UnknownTarget(LookupError):
    """`name` is not a configured target; `valid` are the names that are."""

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown target {name!r}; configured targets: "
                         f"{', '.join(valid) or 'none'}")
        self.name, self.valid = name, valid


def select(config: Config, name: str | None) -> list[Target]:
    """The configured targets a run probes: every one when `name` is None, else the one called
    `name` (UnknownTarget listing the configured names when there is none)."""
    if name is None:
        return list(config.targets)
    for target in config.targets:
        if target.name == name:
            return [target]
    raise UnknownTarget(name, [target.name for target in config.targets])


def longest_run_s(config: Config, targets: Sequence[Target]) -> float:
    """How long a run of `targets` takes at most: a probe waits for its endpoint's slot at most
    `WAIT_SHARE` of its target's interval, then runs at most its timeout; a discover endpoint's
    listing (at most its timeout) comes first. Targets run concurrently."""
    def longest(target: Target) -> float:
        timeout = config.timeout_for(target)
        listing = timeout if target.discover else 0.0
        return listing + WAIT_SHARE * config.interval_for(target) + timeout
    return max(map(longest, targets), default=0.0)


async def probe_once(config: Config, targets: Sequence[Target], environ: Mapping[str, str], *,
                     on_result: Callable[[OnceResult], None] | None = None) -> list[OnceResult]:
    """Probe every kind of each of `targets` once, all concurrently within the endpoints'
    limits, and return the results: targets in the given order, each target's kinds in its
    configured order, a discover endpoint's listing before its models (by name). API keys are
    read from `environ`; a target whose key variable is unset gets one `auth` result per kind
    saying which variable, and is not probed. `on_result` hears each result as it arrives.
    Never raises for a failing probe; no detail holds any of the keys. Within `longest_run_s`."""
    keys = _keys(targets, environ)
    run = _Run(config, ClientPool(), EndpointLimits(config), on_result,
               [key for key in keys.values() if isinstance(key, str)])
    try:
        groups = await asyncio.gather(*(run.target(target, keys[target.name])
                                        for target in targets))
    finally:
        await run.clients.aclose()
    return [result for group in groups for result in group]


def _keys(targets: Sequence[Target], environ: Mapping[str, str]
          ) -> dict[str, str | None | MissingApiKey]:
    keys: dict[str, str | None | MissingApiKey] = {}
    for target in targets:
        try:
            keys[target.name] = resolve_api_keys([target], environ)[target.name]
        except MissingApiKey as exc:
            keys[target.name] = exc
    return keys


@dataclass
class _Connects:
    """What one probe's requests did on the transport: how many went out, the connections they
    opened and the seconds spent opening them."""

    requests: int = 0
    opened: int = 0
    seconds: float = 0.0
    _since: dict[str, float] = field(default_factory=dict)

    def tracer(self, previous: Callable[[str, dict[str, Any]], Awaitable[None]] | None
               ) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        """The `trace` extension of one request: times the connection phases, then passes the
        event on to the trace the request already had, if any."""
        async def trace(event: str, info: dict[str, Any]) -> None:
            phase, _, stage = event.rpartition(".")
            if phase in CONNECT_PHASES:
                if stage == "started":
                    self._since[phase] = time.perf_counter()
                    self.opened += phase == CONNECT_PHASES[0]
                elif phase in self._since:
                    self.seconds += time.perf_counter() - self._since.pop(phase)
            if previous is not None:
                await previous(event, info)
        return trace

    def timing(self) -> tuple[float | None, Connection | None]:
        if self.opened:
            return self.seconds, "new"
        return None, "reused" if self.requests else None


_connects: ContextVar[_Connects | None] = ContextVar("llmhealth_once_connects", default=None)


async def _trace_request(request: httpx.Request) -> None:
    """httpx request hook: attribute the request's connection events to the running probe."""
    connects = _connects.get()
    if connects is not None:
        connects.requests += 1
        request.extensions["trace"] = connects.tracer(request.extensions.get("trace"))


class _Run:
    def __init__(self, config: Config, clients: ClientPool, limits: EndpointLimits,
                 on_result: Callable[[OnceResult], None] | None, secrets: list[str]) -> None:
        self.config, self.clients, self.limits = config, clients, limits
        self.on_result, self.secrets = on_result, secrets

    async def target(self, target: Target, key: str | None | MissingApiKey) -> list[OnceResult]:
        if isinstance(key, MissingApiKey):
            kinds = ["models"] if target.discover else target.kinds
            return [self._missing_key(target, kind, key) for kind in kinds]
        ctx = self._context(target, key)
        if not target.discover:
            return await self._kinds(ctx)
        (listing, models), started_at, connects = await self._measured(discover_once(ctx))
        results = [self._finish(listing, started_at, connects)]
        names = sorted(model.name for model in models or [])
        found = [model for model in (self._model_target(target, name) for name in names)
                 if model is not None]
        groups = await asyncio.gather(*(self._kinds(self._context(model, key))
                                        for model in found))
        return results + [result for group in groups for result in group]

    def _context(self, target: Target, key: str | None) -> ProbeContext:
        client = self.clients.client_for(target)
        hooks = client.event_hooks
        if _trace_request not in hooks["request"]:
            client.event_hooks = {**hooks, "request": [*hooks["request"], _trace_request]}
        prober = self.config.prober
        return ProbeContext(client, target, api_key=key, timeout=self.config.timeout_for(target),
                            max_body_bytes=prober.max_body_bytes,
                            stream_max_tokens=prober.stream_max_tokens)

    async def _kinds(self, ctx: ProbeContext) -> list[OnceResult]:
        return list(await asyncio.gather(*(self._kind(ctx, kind) for kind in ctx.target.kinds)))

    async def _kind(self, ctx: ProbeContext, kind: str) -> OnceResult:
        target = ctx.target
        bounds = BoundHistory(BoundRules.of(self.config, target, kind)).bounds(failures=0)
        async with self.limits.slot(target):
            result, started_at, connects = await self._measured(
                probe_for(target, kind)(replace(ctx, bounds=bounds)))
        return self._finish(result, started_at, connects)

    @staticmethod
    async def _measured(probe: Awaitable[T]) -> tuple[T, datetime, _Connects]:
        """Await `probe` in a task of its own, its requests' connections timed."""
        async def measured() -> tuple[T, datetime, _Connects]:
            connects = _Connects()
            _connects.set(connects)
            started_at = datetime.now(UTC)
            return await probe, started_at, connects
        return await asyncio.create_task(measured())

    def _finish(self, result: ProbeResult, started_at: datetime, connects: _Connects) -> OnceResult:
        detail = result.detail
        for secret in self.secrets:
            detail = redact(detail, secret)
        connect_s, connection = connects.timing()
        done = OnceResult(replace(result, detail=detail), started_at, connect_s, connection)
        if self.on_result is not None:
            self.on_result(done)
        return done

    def _missing_key(self, target: Target, kind: str, exc: MissingApiKey) -> OnceResult:
        result = ProbeResult(target=target.name, kind=kind, outcome="auth", duration_s=0.0,
                             detail=f"not probed: {exc}; set it in this process's environment")
        return self._finish(result, datetime.now(UTC), _Connects())

    @staticmethod
    def _model_target(endpoint: Target, model: str) -> Target | None:
        try:
            return endpoint.discovered(model)
        except ValidationError:
            log.warning("discovery on %s: model %r cannot be probed: %r is not a valid target "
                        "name (at most 128 characters from A-Z a-z 0-9 . _ : / -)",
                        endpoint.name, model, f"{endpoint.name}/{model}")
            return None
