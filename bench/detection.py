"""End-to-end detection and recovery time: from the moment a target starts failing until the
store's latest snapshot says `unhealthy`, and from the moment it works again until it says
`healthy`, through the real pipeline at default settings (`bench.pipeline`).

Failure modes, `per_mode` targets each (distinct simulator models, each behind its own
forwarder port): HTTP 500 on every chat request (the model list still answers), connection
refused (the forwarder stops listening and drops its connections), hangs (the model accepts
the request and sends nothing; cut at the first-byte bound), streams cut mid-body, and
stalls (the answer stops halfway for an hour; cut at the gap bound). One more group hangs
with both bounds set to `prober.timeout` (10 s): the behaviour before the bounds, measured in
the same run. All targets of every group flip at once; each target's probes run on their own
random phase, so each target is one sample. A group flips back once all its targets were seen
unhealthy (or `detect_deadline` passed). For HTTP 500 and refused connections, `per_mode` more
targets per length in `long_outages` stay failing that long, so that their recovery shows the
backoff and the free probe, and what a target that stays down costs (probes and tokens during
the outage, against today's cadence arithmetic). `slow` more targets run the demo's slow model
throughout: none of their probes may be cut by a bound. The store is polled
(`SELECT target, status FROM health_latest`) every `poll` seconds.

Afterwards the stored rows split each sample into the parts of the path: until the first
failed probe's point is exported, the confirmation re-probes until the point that decided it,
collector and insert, the wait for the aggregator's next instant, and evaluation until seen.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import outage_cost
from bench.pipeline import HEALTHY, Pipeline, pipeline
from llmhealth_config.aggregator import BreakerSettings
from llmhealth_config.model import ProberSettings
from simulator.scenarios import demo_models

MODES = ("http_500", "refused", "timeout", "stream_cut", "stream_stall")
SLUG = {"http_500": "e500", "refused": "refused", "timeout": "hang", "stream_cut": "cut",
        "stream_stall": "stall"}
LABEL = {"http_500": "HTTP 500 (chat only)", "refused": "connection refused",
         "timeout": "timeout (hang)", "stream_cut": "stream cut", "stream_stall": "stream stall"}
FAILING = {kind: {"error_rate": 1.0, "error_kind": kind}
           for kind in ("http_500", "timeout", "stream_cut", "stream_stall")}
BOUNDS_OFF = {"first_byte_timeout": "10s", "gap_timeout": "10s"}
"""Both bounds at `prober.timeout`: no early cut, the behaviour before the bounds."""
SLOW = demo_models()["demo-slow"].model_dump(exclude={"schedule"})
PARTS = ("first_failure", "confirm", "collector", "instant", "evaluate")


@dataclass(frozen=True)
class Plan:
    """One group of targets: its failure mode, how long it stays failing (0: until all were
    seen unhealthy) and whether its bounds are off."""

    mode: str
    hold: float = 0.0
    bounds_off: bool = False

    @property
    def slug(self) -> str:
        return SLUG[self.mode] + ("-off" if self.bounds_off else "") + (
            f"-{self.hold:.0f}" if self.hold else "")

    @property
    def label(self) -> str:
        outage = (f"{self.hold / 60:g} min" if self.hold >= 300 else f"{self.hold:.0f} s")
        return (LABEL[self.mode] + (", bounds off (before)" if self.bounds_off else "")
                + (f", {outage} outage" if self.hold else ""))


class Mode:
    """The flips and observations of one group's targets; they flip back once all were seen
    unhealthy (or the deadline passed) and at least `plan.hold` seconds after the flip."""

    def __init__(self, plan: Plan, names: list[str], pipe: Pipeline) -> None:
        self.plan, self.mode, self.hold = plan, plan.mode, plan.hold
        self.names, self.pipe = names, pipe
        self.flipped: dict[str, float] = {}
        self.back: dict[str, float] = {}
        self.seen_unhealthy: dict[str, float] = {}
        self.seen_healthy: dict[str, float] = {}
        self.path: list[dict] = []
        self.cost: dict | None = None
        self.recover_started = 0.0

    def fail(self) -> None:
        self._flip(self.flipped, lambda: self.pipe.forwarders.stop(self.names),
                   lambda name: self.pipe.set_behavior(name, FAILING[self.mode]))

    def recover(self) -> None:
        self._flip(self.back, lambda: self.pipe.forwarders.start(self.names),
                   lambda name: self.pipe.set_behavior(name, HEALTHY))

    def _flip(self, into: dict[str, float], forwarders: Callable[[], None],
              one: Callable[[str], None]) -> None:
        if self.mode == "refused":
            forwarders()
            now = time.time()
            into.update(dict.fromkeys(self.names, now))
            return
        for name in self.names:
            one(name)
            into[name] = time.time()

    def observe(self, statuses: dict[str, str], now: float) -> None:
        for name in self.names:
            status = statuses.get(name)
            if self.back:
                if status == "healthy" and name not in self.seen_healthy:
                    self.seen_healthy[name] = now
            elif self.flipped and status == "unhealthy" and name not in self.seen_unhealthy:
                self.seen_unhealthy[name] = now

    def detected(self) -> bool:
        return len(self.seen_unhealthy) == len(self.names)

    def recovered(self) -> bool:
        return len(self.seen_healthy) == len(self.names)


WARMUP_S = BreakerSettings().min_requests * ProberSettings().interval + 10.0
"""How long targets are healthy before they flip: long enough that each kind has
`breaker.min_requests` requests of its own before the outage, as a target monitored for more
than a minute does. The failures of a younger target's outage stay in its rule window after it
recovers (docs/health-model.md, "Outage")."""


def measure(work: Path, per_mode: int = 20, modes: tuple[str, ...] = MODES, warmup: float = WARMUP_S,
            long_outages: tuple[float, ...] = (120.0, 600.0),
            long_modes: tuple[str, ...] = ("http_500", "refused"),
            bounds_off_modes: tuple[str, ...] = ("timeout",), slow: int = 10,
            detect_deadline: float = 90.0, recover_deadline: float = 120.0,
            poll: float = 0.2) -> dict:
    """Run the flips (see the module docstring)."""
    plans = [Plan(mode) for mode in modes]
    plans += [Plan(mode, bounds_off=True) for mode in bounds_off_modes]
    plans += [Plan(mode, hold) for hold in long_outages for mode in long_modes]
    names = {plan.slug: [f"{plan.slug}-{i:02d}" for i in range(per_mode)] for plan in plans}
    everyone = [n for group in names.values() for n in group]
    slow_names = [f"slow-{i:02d}" for i in range(slow)]
    models = {**dict.fromkeys(everyone, HEALTHY), **dict.fromkeys(slow_names, SLOW)}
    settings = {n: BOUNDS_OFF for plan in plans if plan.bounds_off for n in names[plan.slug]}
    with pipeline(work, models, target_settings=settings) as pipe:
        started = time.monotonic()
        _wait_all(pipe, everyone, "healthy", deadline=120.0, poll=1.0)
        time.sleep(warmup)
        ready_s = time.monotonic() - started
        tokens_per_probe = outage_cost.tokens_per_answered_probe(pipe, everyone)
        groups = [Mode(plan, names[plan.slug], pipe) for plan in plans]
        for group in groups:
            group.fail()
        _follow(pipe, groups, detect_deadline, recover_deadline, poll)
        time.sleep(3)  # the last snapshots and events settle before the rows are read
        for group in groups:
            group.path = _path(pipe, group)
            if group.hold:
                group.cost = outage_cost.outage_cost(pipe, group)
        since = min(min(g.flipped.values()) for g in groups)
        events = _status_events(pipe, everyone, since)
        slow_probes = _slow_probes(pipe, slow_names) if slow_names else None
        cpu = _cpu(pipe)
    return {"per_mode": per_mode, "poll_s": poll, "warmup_s": warmup, "ready_s": ready_s,
            "targets": len(everyone) + len(slow_names), "cpu": cpu, "slow": slow_probes,
            "tokens_per_probe": tokens_per_probe,
            "today": {f"{hold:g}": outage_cost.today_costly_probes(hold) for hold in long_outages},
            "modes": [_summary(g, events) for g in groups]}


def _follow(pipe: Pipeline, groups: list[Mode], detect_deadline: float, recover_deadline: float,
            poll: float) -> None:
    """Poll the statuses, flipping each group back when it is due, until every group has
    recovered or run out of time."""
    flip = time.monotonic()
    while True:
        pipe.alive()
        statuses, now = pipe.statuses(), time.time()
        elapsed = time.monotonic() - flip
        pending = False
        for group in groups:
            group.observe(statuses, now)
            if not group.back and elapsed >= group.hold and (
                    group.detected() or elapsed > detect_deadline):
                group.recover()
                group.recover_started = time.monotonic()
            waiting = not group.back or (
                not group.recovered()
                and time.monotonic() - group.recover_started < recover_deadline)
            pending = pending or waiting
        if not pending:
            return
        time.sleep(poll)


def _cpu(pipe: Pipeline) -> dict[str, float]:
    """CPU seconds so far of `llmhealth run` (store, aggregator) and of each child."""
    root = psutil.Process(pipe.process.pid)
    out = {"run": sum(root.cpu_times()[:2])}
    for child in root.children(recursive=True):
        try:
            out[child.name()] = out.get(child.name(), 0.0) + sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_all(pipe: Pipeline, names: list[str], status: str, deadline: float, poll: float) -> None:
    started = time.monotonic()
    while True:
        pipe.alive()
        statuses = pipe.statuses()
        if all(statuses.get(n) == status for n in names):
            return
        if time.monotonic() - started > deadline:
            off = {n: statuses.get(n) for n in names if statuses.get(n) != status}
            raise RuntimeError(f"not all {status} after {deadline:g} s: {off}")
        time.sleep(poll)


def _slow_probes(pipe: Pipeline, names: list[str]) -> dict:
    """The slow targets' probes by outcome, and the shortest duration of a timeout (a cut by
    a bound would be shorter than `prober.timeout`)."""
    rows = pipe.query("""
        SELECT Attributes['llmhealth.probe.outcome'] AS outcome, sum(Value) AS n FROM otel_metrics_sum
        WHERE MetricName = 'llmhealth.probe.outcomes' AND Attributes['llmhealth.target'] IN {names:Array(String)}
        GROUP BY outcome""", {"names": names})
    shortest = pipe.query("""
        SELECT min(Min) AS s, max(Max) AS longest FROM otel_metrics_exponential_histogram
        WHERE MetricName = 'gen_ai.client.operation.duration' AND Attributes['error.type'] = 'timeout'
          AND Attributes['llmhealth.target'] IN {names:Array(String)}""", {"names": names})
    longest_ok = pipe.query("""
        SELECT max(Max) AS s FROM otel_metrics_exponential_histogram
        WHERE MetricName = 'gen_ai.client.operation.duration' AND NOT mapContains(Attributes, 'error.type')
          AND Attributes['llmhealth.target'] IN {names:Array(String)}""", {"names": names})
    outcomes = {r["outcome"]: int(r["n"]) for r in rows}
    timeouts = outcomes.get("timeout", 0)
    return {"targets": len(names), "probes": sum(outcomes.values()), "outcomes": outcomes,
            "timeouts": timeouts, "shortest_timeout_s": shortest[0]["s"] if timeouts else None,
            "longest_ok_s": longest_ok[0]["s"]}


def _path(pipe: Pipeline, group: Mode) -> list[dict]:
    """Per target: where the time went, from the stored points and snapshots."""
    out = []
    for name in group.names:
        out.append({"detect": _parts(pipe, name, group.flipped[name], group.seen_unhealthy.get(name),
                                     "unhealthy", failing=True),
                    "recover": _parts(pipe, name, group.back.get(name), group.seen_healthy.get(name),
                                      "healthy", failing=False)})
    return out


def _parts(pipe: Pipeline, name: str, flipped: float | None, seen: float | None, status: str,
           failing: bool) -> dict | None:
    if flipped is None or seen is None:
        return None
    since = {"t": name, "since": flipped, "seen": seen}
    decided = pipe.query("""
        SELECT toUnixTimestamp64Milli(evaluated_at) / 1000 AS at,
               toUnixTimestamp64Milli(last_probe_at) / 1000 AS stored
        FROM health_snapshots FINAL
        WHERE target = {t:String} AND status = {status:String}
          AND evaluated_at > fromUnixTimestamp64Milli(toInt64(1000 * {since:Float64}), 'UTC')
        ORDER BY evaluated_at LIMIT 1""", {**since, "status": status})
    first = pipe.query(f"""
        SELECT toUnixTimestamp64Milli(min(time)) / 1000 AS at FROM health_points
        WHERE target = {{t:String}} AND signal = 'outcome' AND value > 0 AND outcome {'!=' if failing else '='} 'ok'
          AND inserted_at > fromUnixTimestamp64Milli(toInt64(1000 * {{since:Float64}}), 'UTC')""", since)
    if not decided or not first or first[0]["at"] is None:
        return None
    at, stored = decided[0]["at"], decided[0]["stored"]
    deciding = pipe.query("""
        SELECT toUnixTimestamp64Milli(max(time)) / 1000 AS at FROM health_points
        WHERE target = {t:String} AND signal = 'outcome'
          AND inserted_at = fromUnixTimestamp64Milli(toInt64(round(1000 * {stored:Float64})), 'UTC')""",
                          {**since, "stored": stored})
    exported = deciding[0]["at"] if deciding and deciding[0]["at"] else stored
    first_at = min(first[0]["at"], exported)
    return {"total": seen - flipped, "first_failure": first_at - flipped, "confirm": exported - first_at,
            "collector": stored - exported, "instant": at - stored, "evaluate": seen - at}


def _status_events(pipe: Pipeline, names: list[str], since: float) -> dict[str, list[tuple[str, str, str]]]:
    """Per target: its status events since `since` as (from, to, reason), in time order."""
    rows = pipe.query("""
        SELECT target, groupArray((from_state, to_state, reason)) AS steps
        FROM (SELECT * FROM health_events FINAL
              WHERE kind = 'status' AND target IN {names:Array(String)}
                AND at > fromUnixTimestamp64Milli(toInt64(1000 * {since:Float64}), 'UTC')
              ORDER BY target, at)
        GROUP BY target""", {"names": names, "since": since})
    return {row["target"]: [tuple(step) for step in row["steps"]] for row in rows}


def path(steps: list[tuple[str, str, str]]) -> str:
    """Status events as the statuses they went through, e.g. `healthy → unhealthy → healthy`."""
    return " → ".join([steps[0][0], *(to for _, to, _ in steps)])


def first_relapse(steps: list[tuple[str, str, str]]) -> str | None:
    """Of status events (from, to, reason) in time order: after the first into `healthy`, the
    first out of it again, as `to: reason`; None when there is none."""
    back = next((i for i, (_, to, _) in enumerate(steps) if to == "healthy"), None)
    if back is None:
        return None
    return next((f"{to}: {why}" for frm, to, why in steps[back + 1:] if frm == "healthy"), None)


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _stats(values: list[float]) -> dict:
    return {"n": len(values), "p50": _quantile(values, 0.5), "p95": _quantile(values, 0.95),
            "max": max(values, default=float("nan"))}


def _summary(group: Mode, events: dict[str, list[tuple[str, str, str]]]) -> dict:
    detect = [group.seen_unhealthy[n] - group.flipped[n] for n in group.seen_unhealthy]
    recover = [group.seen_healthy[n] - group.back[n] for n in group.seen_healthy if n in group.back]
    outage = [group.back[n] - group.flipped[n] for n in group.back]
    paths: dict[str, int] = {}
    for name in group.names:
        went = path(events[name]) if events.get(name) else "(none)"
        paths[went] = paths.get(went, 0) + 1
    parts = {}
    for phase in ("detect", "recover"):
        rows = [p[phase] for p in group.path if p[phase]]
        parts[phase] = {part: statistics.median([r[part] for r in rows]) if rows else float("nan")
                        for part in PARTS}
    return {"mode": group.mode, "label": group.plan.label, "hold": group.hold,
            "bounds_off": group.plan.bounds_off, "targets": len(group.names),
            "detect": _stats(detect), "recover": _stats(recover),
            "outage_s": statistics.median(outage) if outage else float("nan"),
            "parts": parts, "event_paths": paths, "cost": group.cost,
            "relapses": [r for n in group.names if (r := first_relapse(events.get(n, [])))]}


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    from bench.detection_report import section

    with tempfile.TemporaryDirectory() as tmp:
        per_mode = int(sys.argv[1]) if len(sys.argv) > 1 else 3
        res = measure(Path(tmp), per_mode=per_mode, warmup=float(sys.argv[2]) if len(sys.argv) > 2 else 5,
                      long_outages=(float(sys.argv[3]) if len(sys.argv) > 3 else 60,), slow=2)
        print(json.dumps(res, indent=1, default=str))
        print("\n".join(section(res)))
