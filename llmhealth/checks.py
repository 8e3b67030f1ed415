"""`llmhealth check --component …`: is this part doing its job? One function per part, each
returning (healthy, one line saying why), cheap enough to run every few seconds as a
compose health check.

- store: answers `SELECT 1` with the parts' credentials.
- aggregator: an evaluation finished within 3 cycles, a cycle being the longer of
  aggregator.interval and the slowest evaluation of the last minute (a slow aggregator is
  behind, not dead: restarting it would not make it faster).
- prober: its heartbeat file (prober.heartbeat_file) was touched within 3 export intervals,
  that is, the collector took an export that recently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aggregator import sql
from aggregator.store.base import StoreError
from aggregator.store.factory import connect_store
from llmhealth_config.model import Config
from prober.heartbeat import age_s

PERIODS = 3
LOOKBACK_S = 3600  # how far back the aggregator's last evaluation is looked for
RECENT_S = 60  # the evaluations whose slowest sets the pace
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


def aggregator(config: Config) -> Result:
    try:
        db = connect_store(config)
    except StoreError as exc:
        return False, f"aggregator: {exc}"
    since = datetime.now(UTC) - timedelta(seconds=LOOKBACK_S)
    try:
        rows = db.rows(sql.query("last_cycle"), {"since": since, "recent_s": RECENT_S})
    except StoreError as exc:
        return False, f"aggregator: cannot read its evaluations (health_cycles): {exc}"
    finally:
        db.close()
    if not rows:
        return False, (f"aggregator: no instant evaluated in the last {LOOKBACK_S // 60} min: it "
                       "is not running, has not evaluated yet, or fails (see its log)")
    return _pace(rows[0])


def _pace(cycle: dict) -> Result:
    """Alive when the last evaluation `cycle` describes finished within PERIODS cycles."""
    age, interval = float(cycle["age_s"]), float(cycle["interval_s"])
    slowest = float(cycle["slowest_ms"]) / 1000
    limit = PERIODS * max(interval, slowest)
    at = str(cycle["at"])
    if age > limit:
        basis = ("aggregator.interval" if interval >= slowest else
                 f"the slowest evaluation of the last minute, {slowest:.1f} s")
        return False, (f"aggregator: no instant evaluated in the last {limit:g} s ({PERIODS} × "
                       f"{basis}; the last, {at} UTC, finished {age:.0f} s ago): it is not "
                       "running, or failing (see its log)")
    line = f"aggregator: evaluated {at} UTC, {age:.1f} s ago"
    if slowest > interval:
        line += (f"; behind: evaluations took up to {slowest:.1f} s in the last minute, longer "
                 f"than aggregator.interval ({interval:g} s), so it skips instants (raise the "
                 "interval, or split the targets)")
    return True, line


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
