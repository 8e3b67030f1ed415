"""`llmhealth check --component …`: is this part doing its job? One function per part, each
returning (healthy, one line saying why), cheap enough to run every few seconds as a
compose health check.

- store: answers `SELECT 1` with the parts' credentials.
- aggregator: the store holds a snapshot evaluated within 3 aggregator intervals.
- prober: its heartbeat file (prober.heartbeat_file) was touched within 3 export intervals,
  that is, the collector took an export that recently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aggregator import sql
from aggregator.store.base import StoreError
from aggregator.store.factory import connect_store
from llmhealth_config.model import Config
from prober.heartbeat import age_s

PERIODS = 3
Result = tuple[bool, str]


def store(config: Config) -> Result:
    try:
        db = connect_store(config)
    except StoreError as exc:
        return False, f"store: {exc}"
    try:
        db.rows("SELECT 1 AS ok")
    except StoreError as exc:
        return False, f"store: {exc}"
    finally:
        db.close()
    return True, f"store: answers ({config.store.database})"


def aggregator(config: Config, now: float | None = None) -> Result:
    interval = config.aggregator.interval
    limit = PERIODS * interval
    since = datetime.fromtimestamp(time.time() if now is None else now, UTC) - timedelta(seconds=limit)
    try:
        db = connect_store(config)
    except StoreError as exc:
        return False, f"aggregator: {exc}"
    try:
        rows = db.rows(sql.query("last_evaluated"), {"since": since})
    except StoreError as exc:
        return False, f"aggregator: cannot read its snapshots: {exc}"
    finally:
        db.close()
    at = str(rows[0]["at"]) if rows else ""
    if not at or at.startswith("1970-"):
        return False, (f"aggregator: no instant evaluated in the last {limit:g} s ({PERIODS} × "
                       "aggregator.interval): it is not running, or failing (see its log)")
    return True, f"aggregator: evaluated {at} UTC"


def prober(config: Config, now: float | None = None) -> Result:
    path = config.prober.heartbeat_file
    limit = PERIODS * config.prober.export_interval
    age = age_s(path, now)
    if age is None:
        return False, (f"prober: no heartbeat file at {path} (prober.heartbeat_file): it has not "
                       "exported yet, or runs with another prober.heartbeat_file")
    if age > limit:
        return False, (f"prober: last export the collector took was {age:.0f} s ago (more than "
                       f"{limit:g} s, {PERIODS} × prober.export_interval): the collector at "
                       f"{config.collector.export_endpoint} does not take its exports, or it hangs")
    return True, f"prober: exported {age:.1f} s ago"


CHECKS: dict[str, Callable[[Config], Result]] = {
    "store": store, "aggregator": aggregator, "prober": prober}
