"""End-to-end detection and recovery time: from the moment a target starts failing until the
store's latest snapshot says `unhealthy`, and from the moment it works again until it says
`healthy`, through the real pipeline at default settings (`bench.pipeline`).

Four failure modes, `per_mode` targets each (distinct simulator models, each behind its own
forwarder port): HTTP 500 on every request, connection refused (the forwarder stops
listening and drops its connections), timeouts (the model hangs; the prober gives up after
`prober.timeout`, 10 s) and streams cut mid-body. All targets of every mode flip at once; each
target's probes run on their own random phase, so each target is one sample. A mode flips
back once all its targets were seen unhealthy (or `detect_deadline` passed). For HTTP 500 and
refused connections, `per_mode` more targets stay failing for `long_outage` seconds, so that
their recovery shows the prober's backoff. The store is polled
(`SELECT target, status FROM health_latest`) every `poll` seconds.

Afterwards the stored rows split each sample into the parts of the path: until the first
failed probe's point is exported, the confirmation re-probes until the point that decided it,
collector and insert, the wait for the aggregator's next instant, and evaluation until seen.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.pipeline import HEALTHY, Pipeline, pipeline

MODES = ("http_500", "refused", "timeout", "stream_cut")
SLUG = {"http_500": "e500", "refused": "refused", "timeout": "hang", "stream_cut": "cut"}
LABEL = {"http_500": "HTTP 500", "refused": "connection refused", "timeout": "timeout (hang)",
         "stream_cut": "stream cut"}
FAILING = {kind: {"error_rate": 1.0, "error_kind": kind} for kind in ("http_500", "timeout", "stream_cut")}
PARTS = ("first_failure", "confirm", "collector", "instant", "evaluate")


class Mode:
    """The flips and observations of one failure mode's targets; they flip back once all were
    seen unhealthy (or the deadline passed) and at least `hold` seconds after the flip."""

    def __init__(self, mode: str, names: list[str], pipe: Pipeline, hold: float = 0.0) -> None:
        self.mode, self.names, self.pipe, self.hold = mode, names, pipe, hold
        self.flipped: dict[str, float] = {}
        self.back: dict[str, float] = {}
        self.seen_unhealthy: dict[str, float] = {}
        self.seen_healthy: dict[str, float] = {}
        self.path: list[dict] = []
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


def measure(work: Path, per_mode: int = 20, modes: tuple[str, ...] = MODES, warmup: float = 30.0,
            long_outage: float = 120.0, long_modes: tuple[str, ...] = ("http_500", "refused"),
            detect_deadline: float = 90.0, recover_deadline: float = 120.0, poll: float = 0.2) -> dict:
    """Run the flips; `long_outage` > 0 adds, for each of `long_modes`, `per_mode` more targets
    that stay failing that long (the prober's backoff is then in play when they recover)."""
    plan = [(mode, SLUG[mode], 0.0) for mode in modes]
    if long_outage > 0:
        plan += [(mode, f"{SLUG[mode]}-long", long_outage) for mode in long_modes]
    names = {slug: [f"{slug}-{i:02d}" for i in range(per_mode)] for _, slug, _ in plan}
    everyone = [n for group in names.values() for n in group]
    with pipeline(work, dict.fromkeys(everyone, HEALTHY)) as pipe:
        started = time.monotonic()
        _wait_all(pipe, everyone, "healthy", deadline=120.0, poll=1.0)
        time.sleep(warmup)
        ready_s = time.monotonic() - started
        groups = [Mode(mode, names[slug], pipe, hold) for mode, slug, hold in plan]
        for group in groups:
            group.fail()
        flip = time.monotonic()
        while True:
            pipe.alive()
            statuses, now = pipe.statuses(), time.time()
            elapsed = time.monotonic() - flip
            pending = False
            for group in groups:
                group.observe(statuses, now)
                if not group.back and elapsed >= group.hold and (group.detected() or elapsed > detect_deadline):
                    group.recover()
                    group.recover_started = time.monotonic()
                waiting = not group.back or (
                    not group.recovered() and time.monotonic() - group.recover_started < recover_deadline)
                pending = pending or waiting
            if not pending:
                break
            time.sleep(poll)
        time.sleep(3)  # the last snapshots and events settle before the rows are read
        for group in groups:
            group.path = _path(pipe, group)
        events = _status_paths(pipe, everyone, min(min(g.flipped.values()) for g in groups))
        cpu = _cpu(pipe)
    return {"per_mode": per_mode, "poll_s": poll, "warmup_s": warmup, "ready_s": ready_s,
            "targets": len(everyone), "long_outage_s": long_outage, "cpu": cpu,
            "modes": [_summary(g, events) for g in groups]}


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


def _status_paths(pipe: Pipeline, names: list[str], since: float) -> dict[str, str]:
    rows = pipe.query("""
        SELECT target, arrayStringConcat(arrayPushFront(groupArray(to_state), any(from_state)), ' → ') AS path
        FROM (SELECT * FROM health_events FINAL
              WHERE kind = 'status' AND target IN {names:Array(String)}
                AND at > fromUnixTimestamp64Milli(toInt64(1000 * {since:Float64}), 'UTC')
              ORDER BY target, at)
        GROUP BY target""", {"names": names, "since": since})
    return {r["target"]: r["path"] for r in rows}


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


def _summary(group: Mode, events: dict[str, str]) -> dict:
    detect = [group.seen_unhealthy[n] - group.flipped[n] for n in group.seen_unhealthy]
    recover = [group.seen_healthy[n] - group.back[n] for n in group.seen_healthy if n in group.back]
    outage = [group.back[n] - group.flipped[n] for n in group.back]
    paths: dict[str, int] = {}
    for name in group.names:
        path = events.get(name, "(none)")
        paths[path] = paths.get(path, 0) + 1
    parts = {}
    for phase in ("detect", "recover"):
        rows = [p[phase] for p in group.path if p[phase]]
        parts[phase] = {part: statistics.median([r[part] for r in rows]) if rows else float("nan")
                        for part in PARTS}
    label = LABEL[group.mode] + (f", {group.hold:.0f} s outage" if group.hold else "")
    return {"mode": group.mode, "label": label, "hold": group.hold, "targets": len(group.names),
            "detect": _stats(detect), "recover": _stats(recover),
            "outage_s": statistics.median(outage) if outage else float("nan"),
            "parts": parts, "event_paths": paths}


def section(result: dict) -> list[str]:
    """BENCHMARKS.md lines for `result`."""
    n = result["per_mode"]
    lines = [
        "## End-to-end detection and recovery (default settings)", "",
        ("`llmhealth run` (embedded store, rotel, prober, aggregator) with every setting at its default "
         "(probe interval 5 s, completion and stream probes, prober timeout 10 s, confirmation re-probes "
         "1 s apart, backoff from the 6th failure in a row up to 60 s, export every 1 s, rotel batch 0.5 s, "
         "aggregator instant every 2 s + 0.25 s, breaker 3 failures / 2 successes / 5 s cooldown, "
         f"hysteresis 2), {result['targets']} targets against the simulator: {n} per row below, each "
         "its own simulator model behind its own TCP forwarder port (`bench/forwarder.py`), so each "
         "is its own endpoint and its own sample (its probes run on their own random phase). All "
         "targets flip at once; a row flips back once all its targets were seen unhealthy, or after "
         "the stated outage. Times run from the flip until "
         f"`SELECT target, status FROM health_latest`, polled every {result['poll_s']:g} s over the "
         "store's HTTP endpoint, shows `unhealthy` (detection) and, after flipping back, `healthy` "
         f"(recovery). Targets had been healthy for at least {result['warmup_s']:.0f} s. "
         "Goal: detection p95 ≤ 10 s for HTTP 500 and refused connections, recovery p95 ≤ 15 s."), "",
        "| failure mode | detected | detection p50 / p95 / max (s) | outage (s, median) | recovered | recovery p50 / p95 / max (s) | goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in result["modes"]:
        d, r = m["detect"], m["recover"]
        recovery_ok = r["p95"] <= 15 and r["n"] == m["targets"]
        if m["mode"] in ("http_500", "refused"):
            detect_ok = d["p95"] <= 10 and d["n"] == m["targets"]
            goal = ("met" if detect_ok and recovery_ok else
                    f"detection {'met' if detect_ok else '**not met**'}, recovery {'met' if recovery_ok else '**not met**'}")
        else:
            goal = "recovery met" if recovery_ok else "recovery **not met**"
        lines.append(f"| {m['label']} | {d['n']}/{m['targets']} | {_s(d)} | {m['outage_s']:.0f} | "
                     f"{r['n']}/{m['targets']} | {_s(r)} | {goal} |")
    lines += [
        "", ("Where the time goes (medians per part, seconds): *first point* = flip → the first failed "
             "(recovery: successful) probe's point is exported (waiting for the target's next probe, "
             "the probe itself, up to 1 s of export interval); *confirm* = → the point that decided the "
             "status is exported (confirmation re-probes 1 s apart until the breaker's 3 failures or "
             "2 successes, or enough failures for the error-rate rule); *collector* = → stored (rotel "
             "batch and insert); *instant* = → the aggregator instant that changed the status (the 2 s "
             "grid, the breaker's cooldown); *evaluate* = → seen by the poll (0.25 s settle, the "
             "evaluation, the poll). Status paths are the status events of the whole round."),
    ]
    lines += [
        "", "| failure mode | phase | first point | confirm | collector | instant | evaluate | status paths (events) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in result["modes"]:
        paths = "; ".join(f"{p} ×{c}" for p, c in sorted(m["event_paths"].items(), key=lambda x: -x[1]))
        for phase, label in (("detect", "detection"), ("recover", "recovery")):
            p = m["parts"][phase]
            lines.append(f"| {m['label']} | {label} | {p['first_failure']:.1f} | {p['confirm']:.1f} | "
                         f"{p['collector']:.1f} | {p['instant']:.1f} | {p['evaluate']:.1f} | "
                         f"{paths if phase == 'detect' else ''} |")
    notes = _notes(result)
    return lines + (["", *notes] if notes else [])


def _notes(result: dict) -> list[str]:
    """What the parts say, for the modes that miss a goal."""
    notes = []
    for m in result["modes"]:
        recover, detect = m["parts"]["recover"], m["parts"]["detect"]
        if m["hold"] and recover["first_failure"] > 10:
            notes.append(
                f"- {m['label']}: recovery waits {recover['first_failure']:.0f} s (median) for the first successful "
                "probe. After `prober.backoff_after` (6) failures in a row each probe kind backs off, doubling "
                "its gap up to `prober.backoff_max` (60 s): failures at about 0, 1, 2, 5, 10, 15 s, then 25, 45, "
                "85, 145 s … after the flip; a target that comes back is seen at its next backed-off probe. "
                "An outage shorter than about 15 s ends before the backoff starts; after a longer one the wait "
                "for that probe can reach 10 s (outage of 15-25 s), 20 s (25-45 s), 40 s (45-85 s), then 60 s, "
                "plus about 3 s to confirm, store and evaluate.")
        elif m["mode"] == "timeout":
            notes.append(
                f"- {m['label']}: every failed probe takes the 10 s `prober.timeout` before it is recorded, so "
                f"the first failure is exported after {detect['first_failure']:.0f} s and the breaker's 3 failures "
                f"after {detect['first_failure'] + detect['confirm']:.0f} s (medians). On the way back, probes "
                f"still hanging when the model recovers time out first (first success after "
                f"{recover['first_failure']:.0f} s), and a failure recorded while the breaker is half-open opens "
                "it again for another 5 s cooldown.")
        elif m["detect"]["p95"] > 10 or m["recover"]["p95"] > 15:
            notes.append(f"- {m['label']}: see the parts above.")
    return notes


def _s(stats: dict) -> str:
    return f"{stats['p50']:.1f} / {stats['p95']:.1f} / {stats['max']:.1f}"


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        per_mode = int(sys.argv[1]) if len(sys.argv) > 1 else 3
        res = measure(Path(tmp), per_mode=per_mode, warmup=float(sys.argv[2]) if len(sys.argv) > 2 else 5,
                      long_outage=float(sys.argv[3]) if len(sys.argv) > 3 else 60)
        print(json.dumps(res, indent=1, default=str))
        print("\n".join(section(res)))
