"""`GET /api/diagnostics` and `GET /api/diagnostics/activity`: what the pipeline is doing right
now (docs/api.md, Diagnostics), for the operator on the aggregator's machine.

Both answer only clients on loopback (127.0.0.0/8, ::1, IPv4-mapped loopback) or inside one of
`aggregator.diagnostics_allow`; everyone else gets 403 naming that setting. Both read the prober's
activity endpoint (`config.prober_url` + `/activity`, within `PROBER_TIMEOUT_S`); a prober that
does not answer is reported as unreachable with the reason, never as a 5xx. `/api/diagnostics`
also connects to the collector, runs one small query on the store (off the event loop:
clickhouse/queries/diagnostics_lag.sql) and reports this aggregator's last evaluation; the
three checks run concurrently, each within its own timeout. `/api/diagnostics/activity` is the
light one for polling: the prober's part only.

What the router needs on `app.state`: `health` (an ApiState: its `config` and `store`) and,
for the `aggregator` part, `worker` (the evaluation Worker; absent: that part is null).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError

from aggregator import sql
from aggregator.api.diagnostics_models import (
    ActivitySummary,
    AggregatorCycle,
    Diagnostics,
    Forbidden,
    ProberActivity,
    Reachability,
    StoreDiagnostics,
)
from aggregator.api_state import ApiState
from aggregator.store.base import StoreError
from aggregator.worker import Worker
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME

log = logging.getLogger("llmhealth.aggregator")
PROBER_TIMEOUT_S = 1.0
COLLECTOR_TIMEOUT_S = 1.0
STORE_TIMEOUT_S = 5.0
ERROR_LIMIT = 300
ALLOW_HOW = "aggregator.diagnostics_allow (LLMHEALTH_AGGREGATOR__DIAGNOSTICS_ALLOW)"


def client_allowed(host: str | None, allow: Sequence[str]) -> bool:
    """Whether a client at `host` (an IP address as the server saw it) may read diagnostics:
    loopback, or inside one of the networks `allow` (CIDR strings). An IPv4-mapped IPv6
    address counts as its IPv4 address; anything that is not an IP address is refused."""
    try:
        address = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or any(address in ipaddress.ip_network(net) for net in allow)


def _state(request: Request) -> ApiState:
    return request.app.state.health


def _only_allowed(request: Request) -> None:
    host = request.client.host if request.client else None
    if not client_allowed(host, _state(request).config.aggregator.diagnostics_allow):
        raise HTTPException(403, detail=f"diagnostics answer loopback clients only; to let "
                                        f"{host or 'this client'} read them, add its address or "
                                        f"network to {ALLOW_HOW}")


router = APIRouter(prefix="/api/diagnostics", tags=["diagnostics"],
                   dependencies=[Depends(_only_allowed)],
                   responses={403: {"model": Forbidden, "description": "the client is neither on "
                                    "loopback nor in aggregator.diagnostics_allow"}})


@router.get("", response_model=Diagnostics)
async def diagnostics(request: Request) -> Diagnostics:
    """The prober's probes in flight and last results, the collector's and the store's
    reachability, the storage lag and this aggregator's cycle time."""
    state = _state(request)
    prober, collector, store = await asyncio.gather(
        read_prober(state.config), reach_collector(state.config), read_store(state))
    return Diagnostics(at=_now(), prober=prober, collector=collector, store=store,
                       aggregator=_cycle(getattr(request.app.state, "worker", None), state.config))


@router.get("/activity", response_model=ActivitySummary)
async def activity(request: Request) -> ActivitySummary:
    """The prober's probes in flight and per-target counts; no store query."""
    return ActivitySummary(at=_now(), prober=await read_prober(_state(request).config))


async def read_prober(config: Config) -> ProberActivity:
    """The prober's `GET /activity`, or why it cannot be read."""
    url = f"{config.prober_url}/activity"
    try:
        async with httpx.AsyncClient(timeout=PROBER_TIMEOUT_S, trust_env=False,
                                     follow_redirects=False) as client:
            response = await client.get(url)
    except httpx.TimeoutException:
        return _unreachable(url, f"no answer within {PROBER_TIMEOUT_S:g} s")
    except httpx.HTTPError as exc:
        return _unreachable(url, _reason(exc))
    try:
        body = response.json()
        if response.status_code != 200 or not isinstance(body, dict):
            raise ValueError
        return ProberActivity(url=url, reachable=True, **body)
    except (ValueError, TypeError, ValidationError):
        return _unreachable(url, f"answered HTTP {response.status_code}, not as the llmhealth "
                                 "prober's activity endpoint (a different version, or another "
                                 "server on that port)")


def _unreachable(url: str, why: str) -> ProberActivity:
    return ProberActivity(url=url, reachable=False,
                          error=f"{why}: is the prober running? It listens on prober.http_host/"
                                "http_port; aggregator.prober_url says where to read it")


async def reach_collector(config: Config) -> Reachability:
    """A TCP connection to the collector's OTLP/gRPC port (collector.export_endpoint)."""
    parts = urlsplit(config.collector.export_endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    started = time.perf_counter()
    try:
        async with asyncio.timeout(COLLECTOR_TIMEOUT_S):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return Reachability(address=address, reachable=False, latency_ms=None,
                            error=f"no connection within {COLLECTOR_TIMEOUT_S:g} s")
    except OSError as exc:
        return Reachability(address=address, reachable=False, latency_ms=None,
                            error=exc.strerror or str(exc))
    latency = _ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Reachability(address=address, reachable=True, latency_ms=latency)


async def read_store(state: ApiState) -> StoreDiagnostics:
    """The storage lag, read on a thread; the store's error when the query fails."""
    if state.store is None:
        return StoreDiagnostics(reachable=False, latency_ms=None, newest_point_at=None,
                                lag_s=None, error="this API was started without a store")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(STORE_TIMEOUT_S):
            rows = await asyncio.to_thread(state.store.rows, sql.query("diagnostics_lag"),
                                           {"service": PROBER_SERVICE_NAME})
    except TimeoutError:
        return StoreDiagnostics(reachable=False, latency_ms=None, newest_point_at=None,
                                lag_s=None, error=f"no answer within {STORE_TIMEOUT_S:g} s")
    except StoreError as exc:
        log.warning("api: diagnostics could not read the store: %s", exc)
        return StoreDiagnostics(reachable=False, latency_ms=None, newest_point_at=None,
                                lag_s=None, error=str(exc)[:ERROR_LIMIT])
    row: dict[str, Any] = rows[0] if rows else {}
    newest, lag = row.get("newest_point_s"), row.get("lag_s")
    return StoreDiagnostics(
        reachable=True, latency_ms=_ms(started),
        newest_point_at=None if newest is None else datetime.fromtimestamp(float(newest), UTC),
        lag_s=None if lag is None else round(float(lag), 3))


def _cycle(worker: Worker | None, config: Config) -> AggregatorCycle | None:
    """The worker's last evaluation, from its memory."""
    if worker is None:
        return None
    duration = worker.last_duration_ms
    return AggregatorCycle(interval_s=config.aggregator.interval,
                           last_evaluated_at=worker.last_evaluated,
                           last_cycle_ms=None if duration is None else round(duration, 1),
                           behind=worker.behind,
                           last_error=None if worker.last_error is None
                           else worker.last_error[:ERROR_LIMIT])


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _reason(exc: BaseException) -> str:
    """The innermost OS error's text when there is one (httpx wraps a refused connection in
    'All connection attempts failed'), else the error's own."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror
        inner = inner.__cause__ or inner.__context__
    return str(exc) or type(exc).__name__
