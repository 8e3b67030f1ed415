"""What the prober is doing right now: its probes in flight, each target's last finished probe
per kind, and when the collector last took an export. `prober.activity_server` serves it as
`GET /activity`; the aggregator's `/api/diagnostics` shows it (docs/api.md, Diagnostics).

The probe loops (`prober.loop`, `prober.liveness`) register each probe with `Activity.probe`
from the moment it asks for an endpoint slot (`waiting`) and mark it `running` once it holds
one. While a probe is registered, `prober.attempt.WATCH` hands every `Attempt` its task starts to
the entry, which reads the attempt's byte counts as they grow: each probe runs in a task of its
own, so the context variable is per probe. A chat probe that is corrected after a refusal sends
several requests; their bytes add up.

Nothing here holds a secret: targets are named, endpoints are `scheme://host:port` (no
credentials, no path) and outcomes come from the fixed taxonomy (no provider text).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmhealth_config.target import Target
from prober.attempt import WATCH, Attempt
from prober.endpoints import endpoint_of
from prober.outcome import OK, ProbeResult

LIVENESS = "liveness"
"""The kind under which a target's internal liveness probe (`prober.liveness`) is listed."""
EXPORT_PERIODS = 3
"""The collector takes the exports while the last one it took is younger than this many
`prober.export_interval`s (as `llmhealth check --component prober` judges it)."""


def iso(seconds: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 in UTC (millisecond precision); None stays None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass(eq=False)
class InFlight:
    """One probe from the moment it asks for an endpoint slot until it finishes. Times come
    from `monotonic` except `started_at` (wall clock, for display)."""

    target: str
    kind: str
    endpoint: str
    started_at: float
    started: float
    planned: float
    """When the probe was planned to start (monotonic): its schedule delay runs from here."""
    monotonic: Callable[[], float] = field(repr=False)
    running_since: float | None = None
    schedule_delay_s: float | None = None
    attempts: list[Attempt] = field(default_factory=list, repr=False)

    def attach(self, attempt: Attempt) -> None:
        """`prober.attempt.WATCH`: count `attempt`'s bytes as part of this probe."""
        self.attempts.append(attempt)

    def run(self) -> None:
        """The probe holds its endpoint slot now: its schedule delay stops growing."""
        self.running_since = self.monotonic()
        self.schedule_delay_s = max(0.0, self.running_since - self.planned)

    def view(self, now: float) -> dict[str, Any]:
        """The entry as `GET /activity` lists it, at monotonic time `now`."""
        delay = self.schedule_delay_s if self.schedule_delay_s is not None \
            else max(0.0, now - self.planned)
        return {"target": self.target, "kind": self.kind, "endpoint": self.endpoint,
                "state": "waiting" if self.running_since is None else "running",
                "started_at": iso(self.started_at),
                "duration_s": round(max(0.0, now - self.started), 3),
                "schedule_delay_s": round(delay, 3),
                "bytes_sent": sum(a.bytes_sent for a in self.attempts),
                "bytes_received": sum(a.bytes_received for a in self.attempts)}


@dataclass
class Finished:
    outcome: str
    duration_s: float
    finished_at: float


@dataclass
class TargetCounts:
    finished: int = 0
    failed: int = 0
    last: dict[str, Finished] = field(default_factory=dict)
    """The last finished probe per kind (`liveness` for the liveness probe)."""


class Activity:
    """The registry of one prober. Used from the prober's event loop only (not thread-safe).

    `heartbeat_age_s` is how the export state is read: seconds since the collector last took
    an export (the heartbeat file's age, `prober.heartbeat.age_s`), None when it never did;
    `snapshot` takes it as an argument so that the file is read off the event loop."""

    def __init__(self, *, collector: str, export_interval_s: float,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.collector = collector
        self.export_interval_s = export_interval_s
        self._clock, self._monotonic = clock, monotonic
        self.started_at = clock()
        self._in_flight: dict[int, InFlight] = {}
        self._targets: dict[str, TargetCounts] = {}

    def watch(self, name: str) -> None:
        """List target `name` (with no probe yet) until `forget(name)`."""
        self._targets.setdefault(name, TargetCounts())

    def forget(self, name: str) -> None:
        """Stop listing target `name` (discovery removed it)."""
        self._targets.pop(name, None)

    @contextmanager
    def probe(self, target: Target, kind: str, delay_s: float) -> Iterator[InFlight]:
        """Register a probe of `kind` of `target` that is `delay_s` seconds late on its plan
        already, `waiting` until `InFlight.run`, for the block's duration; the block's attempts
        are attached to it (`prober.attempt.WATCH`)."""
        now = self._monotonic()
        entry = InFlight(target.name, kind, endpoint_of(target), self._clock(), now,
                         now - max(0.0, delay_s), self._monotonic)
        self._in_flight[id(entry)] = entry
        token = WATCH.set(entry.attach)
        try:
            yield entry
        finally:
            WATCH.reset(token)
            del self._in_flight[id(entry)]

    def finished(self, name: str, kind: str, result: ProbeResult) -> None:
        """Record the result of a probe of `kind` of target `name` as its last one."""
        counts = self._targets.setdefault(name, TargetCounts())
        counts.finished += 1
        counts.failed += result.outcome != OK
        counts.last[kind] = Finished(result.outcome, result.duration_s, self._clock())

    def snapshot(self, heartbeat_age_s: float | None) -> dict[str, Any]:
        """Everything `GET /activity` answers (docs/api.md, Diagnostics): in-flight probes
        longest-running first, targets by name, and the export state."""
        now, wall = self._monotonic(), self._clock()
        entries = sorted(self._in_flight.values(), key=lambda e: e.started)
        by_target: dict[str, list[InFlight]] = {}
        for entry in entries:
            by_target.setdefault(entry.target, []).append(entry)
        targets = []
        for name in sorted({*self._targets, *by_target}):
            counts = self._targets.get(name, TargetCounts())
            running = by_target.get(name, [])
            targets.append({
                "target": name,
                "in_flight": len(running),
                "waiting": sum(e.running_since is None for e in running),
                "finished": counts.finished, "failed": counts.failed,
                "last": [{"kind": kind, "outcome": last.outcome,
                          "duration_s": round(last.duration_s, 3),
                          "finished_at": iso(last.finished_at)}
                         for kind, last in sorted(counts.last.items())]})
        return {"at": iso(wall), "started_at": iso(self.started_at),
                "in_flight": [entry.view(now) for entry in entries],
                "targets": targets, "export": self._export(wall, heartbeat_age_s)}

    def _export(self, wall: float, age_s: float | None) -> dict[str, Any]:
        """When the collector last took an export. A heartbeat older than this prober is
        another process's (the file outlives it): not counted."""
        last = None if age_s is None else wall - age_s
        if last is not None and last < self.started_at:
            last = None
        age = None if last is None else round(max(0.0, wall - last), 3)
        return {"collector": self.collector, "interval_s": self.export_interval_s,
                "last_taken_at": iso(last), "age_s": age,
                "taken": age is not None and age < EXPORT_PERIODS * self.export_interval_s}
