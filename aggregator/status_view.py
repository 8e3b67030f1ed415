"""The status table shown by `llmhealth status` and the live view of `llmhealth run`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
from rich.table import Table

from aggregator import sql

STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red",
                "rate_limited": "magenta", "unknown": "dim"}
FIELDS = ("target", "kind", "status", "reason", "breaker", "consecutive_failures", "requests",
          "errors", "error_rate",
          "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
          "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "evaluated_at")


class StatusUnavailable(Exception):
    """The store could not be asked; the text says where and what to do."""


def fetch_over_http(url: str, database: str, auth: tuple[str, str],
                    timeout: float = 5.0) -> list[dict[str, Any]]:
    """The latest snapshot per target from a ClickHouse HTTP endpoint (embedded or server),
    logged in as `auth` (user, password)."""
    try:
        response = httpx.post(url, params={"database": database, "default_format": "JSONEachRow"},
                              content=sql.query("latest_status").encode(), auth=auth,
                              timeout=timeout)
    except httpx.HTTPError as exc:
        raise StatusUnavailable(f"cannot reach the store at {url} ({exc}); is `llmhealth run` "
                                "running? (or pass --url)") from None
    if response.status_code != 200:
        raise StatusUnavailable(f"store at {url} answered {response.status_code}: "
                                f"{response.text.strip()[:500]}")
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def render(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="llmhealth: latest status per target", expand=False)
    for header in ("target", "status", "reason", "breaker", "err %", "lat p50", "p90", "p99 ms",
                   "ttft p50", "p90", "p99 ms", "evaluated"):
        table.add_column(header, overflow="fold",
                         justify="right" if header not in ("target", "status", "reason", "breaker") else "left")
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "")
        table.add_row(
            row["target"] + (" (pool)" if row["kind"] == "pool" else ""), f"[{style}]{row['status']}[/]",
            row["reason"], row["breaker"] or "-",
            f"{100 * float(row['error_rate']):.1f}",
            _ms(row["latency_p50_ms"]), _ms(row["latency_p90_ms"]), _ms(row["latency_p99_ms"]),
            _ms(row["ttft_p50_ms"]), _ms(row["ttft_p90_ms"]), _ms(row["ttft_p99_ms"]),
            str(row["evaluated_at"])[11:19],
        )
    if not rows:
        table.caption = "no snapshots yet: the first evaluation runs within one aggregator interval"
    return table
