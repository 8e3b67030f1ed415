"""False alarms: healthy targets with 1 % random errors through the real pipeline at default
settings (`bench.pipeline`), counted as status changes in health_events.

Every target is its own simulator model answering HTTP 500 to 1 % of requests
(`error_rate: 0.01`), probed with the default probes (completion and stream every 5 s, plus
the confirmation re-probes after each failure). A target's first status event, `new` (or
`unknown`) → `healthy`, is its start; every other status event is a false alarm. Goal: none.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.pipeline import pipeline

RULE_WINDOW_S = 300  # aggregator.window (default): the first window is the start-up phase
# A target's first status event: `new` → healthy, or `unknown` → healthy when its first
# snapshot (before any probe result was stored) said unknown, which records no event.
START_STATES = ("new", "unknown")


def measure(work: Path, targets: int = 20, minutes: float = 60.0, error_rate: float = 0.01,
            log=print) -> dict:
    names = [f"soak-{i:02d}" for i in range(targets)]
    behavior = {"error_rate": error_rate, "error_kind": "http_500"}
    with pipeline(work, dict.fromkeys(names, behavior)) as pipe:
        started = time.time()
        pipe.run_for(minutes, log, "soak")
        seconds = time.time() - started
        time.sleep(3)  # the last instant's snapshots and events are written
        events = pipe.query("""
            SELECT target, toString(at) AS at_text, toUnixTimestamp64Milli(at) / 1000 AS t, kind,
                   from_state, to_state, reason
            FROM health_events FINAL
            WHERE target IN {names:Array(String)}
            ORDER BY target, at, kind""", {"names": names})
        probes = pipe.query("""
            SELECT toUInt64(sum(value)) AS probes, toUInt64(sumIf(value, outcome != 'ok')) AS failed,
                   groupUniqArrayIf(outcome, outcome != 'ok') AS kinds
            FROM health_points
            WHERE source = 'probe' AND signal = 'outcome' AND target IN {names:Array(String)}""",
                            {"names": names})[0]
        streak = pipe.query("""
            SELECT max(consecutive_failures) AS n, max(error_rate_lower) AS lower
            FROM health_snapshots WHERE target IN {names:Array(String)}""", {"names": names})[0]
    return summarize(events, names, seconds, error_rate, probes, streak)


def summarize(events: list[dict], names: list[str], seconds: float, error_rate: float,
              probes: dict, streak: dict) -> dict:
    first_seen: dict[str, float] = {}
    changes = []
    for event in events:
        if event["kind"] != "status":
            continue
        target = event["target"]
        if target not in first_seen:
            first_seen[target] = event["t"]
            if event["from_state"] in START_STATES and event["to_state"] == "healthy":
                continue
        event["start_phase"] = event["t"] - first_seen[target] < RULE_WINDOW_S
        changes.append(event)
    breaker = [e for e in events if e["kind"] == "breaker"]
    return {
        "targets": len(names), "seconds": seconds, "target_hours": len(names) * seconds / 3600,
        "error_rate": error_rate, "probes": probes["probes"], "failed": probes["failed"],
        "failure_kinds": probes["kinds"], "started": len(first_seen),
        "status_changes": changes, "breaker_changes": breaker,
        "longest_failure_streak": streak["n"], "max_error_rate_lower": streak["lower"],
    }


def describe(change: dict) -> str:
    phase = " (in the first 5 min of its data)" if change["start_phase"] else ""
    return (f"{change['target']} at {change['at_text']}{phase}: {change['from_state']} → {change['to_state']}: "
            f"{change['reason']}")


def section(result: dict, full_minutes: float = 60.0) -> list[str]:
    minutes = result["seconds"] / 60
    changes = result["status_changes"]
    start = sum(1 for c in changes if c["start_phase"])
    short = "" if minutes >= full_minutes - 0.5 else (
        f" This run was shortened to {minutes:.0f} min; `make bench` runs {full_minutes:.0f} min "
        f"({result['targets'] * full_minutes / 60:.0f} target-hours).")
    lines = [
        "## False alarms: healthy targets with 1 % random errors", "",
        (f"{result['targets']} targets through `llmhealth run` at default settings, each a simulator model "
         f"answering HTTP 500 to {result['error_rate']:.0%} of requests, for {minutes:.0f} min "
         f"({result['target_hours']:.1f} target-hours).{short} A status change is any `health_events` row "
         "of kind `status` except each target's first, `new` or `unknown` → `healthy`. Goal: 0."), "",
        "| target-hours | probes | failed | status changes | of them in a target's first 5 min | breaker changes | longest failure streak | goal |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        (f"| {result['target_hours']:.1f} | {result['probes']:,} | {result['failed']:,} "
         f"({result['failed'] / max(1, result['probes']):.2%}) | {len(changes)} | {start} | "
         f"{len(result['breaker_changes'])} | {result['longest_failure_streak']} | "
         f"{'met' if not changes else '**not met**'} |"),
    ]
    if changes:
        lines += ["", "Status changes:", ""] + [f"- {describe(c)}" for c in changes]
    return lines


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = measure(Path(tmp), minutes=float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
        print("\n".join(section(res)))
