"""A small synchronous client of the aggregator's HTTP API (docs/api.md), for the CLI's reading
commands (`llmhealth status`, `llmhealth history`). Short timeouts: a command that asks a
monitor must not hang on it. Two ways a read fails, each with a sentence for the operator:
`ApiUnavailable` (nothing answers there as the llmhealth API: refused, timed out, or another
server) and `ApiRefused` (the API answered the request with an error: an unknown target, a
store it cannot read now)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote

import httpx

TIMEOUT = httpx.Timeout(5.0, connect=1.0)
"""Reads from memory answer in milliseconds; a history queries the store (a few seconds at most)."""
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
BREAKER_ORDER = ("open", "half_open", "closed")
"""The worst first, as a snapshot's `breaker` is its worst kind's."""


class ApiUnavailable(Exception):
    """No llmhealth API answers at the URL; the text says where and what was found there."""


class ApiRefused(Exception):
    """The API answered with an error; the text is its `detail`, `valid` the names it knows
    (for an unknown target), `status` the HTTP status."""

    def __init__(self, message: str, status: int, valid: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.valid = status, valid or []


def api_url(host: str, port: int) -> str:
    """Where this machine reaches an API listening on `host`:`port` (aggregator.http_host and
    http_port): an every-interface address is reached on loopback."""
    host = ANY_ADDRESS.get(host, host)
    try:
        bracket = ipaddress.ip_address(host).version == 6
    except ValueError:
        bracket = False
    return f"http://[{host}]:{port}" if bracket else f"http://{host}:{port}"


class ApiClient:
    """GETs of the aggregator's API at `base_url` (e.g. http://127.0.0.1:8080)."""

    def __init__(self, base_url: str, timeout: httpx.Timeout = TIMEOUT) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout,
                                    follow_redirects=False, trust_env=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def detailed(self) -> dict[str, Any]:
        """`GET /api/health/detailed`: every target and pool, with `freshness`."""
        return self._get("/api/health/detailed", {}, expect="targets")

    def history(self, target: str, range_: str) -> dict[str, Any]:
        """`GET /api/health/targets/{target}/history?range=…`: points, periods and events."""
        path = f"/api/health/targets/{quote(target, safe='/:@')}/history"
        return self._get(path, {"range": range_}, expect="points")

    def _get(self, path: str, params: Mapping[str, str], expect: str) -> dict[str, Any]:
        """The JSON object at `path`, which must have the key `expect` (else the server there is
        not the llmhealth API)."""
        try:
            response = self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise ApiUnavailable(f"the API at {self.base_url} did not answer within "
                                 f"{self.timeout.read:g} s") from None
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"no API answers at {self.base_url} ({_reason(exc)})") from None
        body = _json(response)
        if response.status_code == 200 and isinstance(body, dict) and expect in body:
            return body
        if isinstance(body, dict) and response.status_code in (404, 422, 503) and "detail" in body:
            raise ApiRefused(_detail(body["detail"]), response.status_code,
                             [str(v) for v in body.get("valid") or []])
        raise ApiUnavailable(f"{self.base_url} answered {response.status_code} to {path}, not as "
                             "the llmhealth API")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(detail: Any) -> str:
    """The `detail` of an error answer: a sentence, or a list of {loc, msg} (422)."""
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}"
                         for d in detail if isinstance(d, dict))
    return str(detail)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text


def moment(text: object) -> datetime | None:
    """A time of an answer (ISO 8601, UTC), None for null or a time it cannot read."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _ms(quantiles: Mapping[str, Any] | None, p: str) -> float | None:
    value = (quantiles or {}).get(p)
    return None if value is None else 1000.0 * float(value)


def status_rows(detailed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`/api/health/detailed` as the rows `llmhealth status` shows and prints (the columns of
    clickhouse/queries/latest_status.sql, status_view.FIELDS): targets by name, then pools.
    A target's `breaker` is its worst kind's, `consecutive_failures` its longest streak."""
    at = (detailed.get("freshness") or {}).get("evaluated_at")
    rows: list[dict[str, Any]] = []
    for t in sorted(detailed.get("targets") or [], key=lambda t: t["target"]):
        kinds = t.get("kinds") or []
        states = [k["breaker"]["state"] for k in kinds if k.get("breaker", {}).get("state")]
        rows.append({
            "target": t["target"], "kind": "target", "status": t["status"], "reason": t["reason"],
            "breaker": min(states, key=BREAKER_ORDER.index) if states else "",
            "consecutive_failures": max((k["consecutive_failures"] for k in kinds), default=0),
            "requests": t["requests"], "errors": t["errors"], "error_rate": t["error_rate"],
            **{f"latency_{p}_ms": _ms(t.get("latency_s"), p) for p in ("p50", "p90", "p99")},
            **{f"ttft_{p}_ms": _ms(t.get("ttft_s"), p) for p in ("p50", "p90", "p99")},
            "ratelimit_exhausted_resource": (t.get("ratelimit_exhaustion") or {}).get("resource", ""),
            "ratelimit_exhausted_in_s": (t.get("ratelimit_exhaustion") or {}).get("in_s"),
            "context_preservation_rate": t.get("context_preservation_rate"),
            "passive_requests": t.get("passive_requests", 0.0),
            "passive_errors": t.get("passive_errors", 0.0),
            **{f"passive_latency_{p}_ms": _ms(t.get("passive_latency_s"), p)
               for p in ("p50", "p90", "p99")},
            "evaluated_at": at})
    for p in sorted(detailed.get("pools") or [], key=lambda p: p["pool"]):
        rows.append({
            "target": p["pool"], "kind": "pool", "status": p["status"], "reason": p["reason"],
            "breaker": "", "consecutive_failures": 0, "requests": p["requests"],
            "errors": p["errors"], "error_rate": p["error_rate"],
            **{f"{signal}_{q}_ms": None for signal in ("latency", "ttft") for q in ("p50", "p90", "p99")},
            "ratelimit_exhausted_resource": "", "ratelimit_exhausted_in_s": None,
            "context_preservation_rate": None, "passive_requests": 0.0, "passive_errors": 0.0,
            **{f"passive_latency_{q}_ms": None for q in ("p50", "p90", "p99")},
            "evaluated_at": at})
    return rows
