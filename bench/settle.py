"""Settle, then hold: targets failing a random fraction p of their requests, through the real
pipeline at default settings (`bench.pipeline`), judged by their status over time.

Each target is its own simulator model answering HTTP 500 to a fraction p of requests
(`error_rate`), probed with the default probes (completion and stream every 5 s, and the
confirmation and doubt probes after a failure). Per p: the
status it should settle on (EXPECTED), the time from the target's first snapshot until it
first holds that status, and the status changes after that, per hour. Goals (issue: verdicts
that never lie): p = 1 % stays healthy; 10 % and 30 % settle on degraded within 2 min; 50 %,
90 % and 100 % on unhealthy within 30 s; after settling at most 1 change per hour.
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path

from bench.pipeline import Pipeline, pipeline

RATES = (0.01, 0.1, 0.3, 0.5, 0.9, 1.0)
EXPECTED = {0.01: "healthy", 0.1: "degraded", 0.3: "degraded", 0.5: "unhealthy", 0.9: "unhealthy",
            1.0: "unhealthy"}
GOAL_S = {0.01: None, 0.1: 120.0, 0.3: 120.0, 0.5: 30.0, 0.9: 30.0, 1.0: 30.0}
"""Seconds to settle. 1 % has none: it stays healthy, i.e. nothing but `unknown` before its
first `healthy` (a new target with an early failure is `unknown` until there is evidence either
way) and no change after, as in the soak."""
MAX_CHANGES_PER_HOUR = 1.0


def target_name(p: float, i: int) -> str:
    return f"p{round(p * 100):03d}-{i:02d}"


def rows_of_rate(p: float, rows: list[dict]) -> list[dict]:
    """The rows of rate `p`'s targets (named by `target_name`)."""
    return [r for r in rows if r["target"].startswith(target_name(p, 0)[:5])]


def measure(work: Path, per_rate: int = 4, minutes: float = 50.0, log=print) -> dict:
    models = {target_name(p, i): {"error_rate": p, "error_kind": "http_500"}
              for p in RATES for i in range(per_rate)}
    with pipeline(work, models) as pipe:
        pipe.run_for(minutes, log, "settle")
        time.sleep(3)  # the last instant's snapshots are written
        rows = pipe.query("""
            SELECT target, toUnixTimestamp64Milli(evaluated_at) / 1000 AS t, status
            FROM health_snapshots FINAL
            WHERE kind = 'target' AND target IN {names:Array(String)}
            ORDER BY target, evaluated_at""", {"names": list(models)})
        probes = {r["target"]: r["probes"] for r in pipe.query("""
            SELECT target, toUInt64(sum(value)) AS probes
            FROM health_points
            WHERE source = 'probe' AND signal = 'outcome' AND target IN {names:Array(String)}
            GROUP BY target""", {"names": list(models)})}
        rates = [summarize(p, rows_of_rate(p, rows), probes) for p in RATES]
        for rate in rates:
            rate["missed"] = [_miss(pipe, rate["p"], [r for r in rows if r["target"] == name])
                              for i, name in enumerate(rate["names"]) if not met(rate, i)]
    return {"per_rate": per_rate, "minutes": minutes, "rates": rates}


def _miss(pipe: Pipeline, p: float, snapshots: list[dict]) -> str:
    """A target that missed its goal: its status at the goal (`at_goal`) and the failed and all
    probes of each kind stored up to then, e.g. "healthy 2/31 · 1/27" (completion · stream)."""
    until, status = at_goal(p, snapshots)
    counts = pipe.query("""
        SELECT kind, toUInt64(sumIf(value, outcome != 'ok')) AS failed, toUInt64(sum(value)) AS probes
        FROM health_points
        WHERE source = 'probe' AND signal = 'outcome' AND target = {target:String}
          AND time <= fromUnixTimestamp64Milli({until_ms:Int64})
        GROUP BY kind ORDER BY kind""", {"target": snapshots[0]["target"], "until_ms": round(until * 1000)})
    return f"{status} " + " · ".join(f"{c['failed']}/{c['probes']}" for c in counts)


def summarize(p: float, rows: list[dict], probes: dict[str, int] | None = None) -> dict:
    """Per target of rate `p` (its snapshots in time order): seconds until it first held the
    expected status (None: never) and status changes per hour after that; for a rate expected
    not to be healthy, the latest second after its first snapshot at which a target read
    `healthy` (`healthy_last_s`); with `probes` (the probes stored per target), the probes per
    target-hour, from each target's first snapshot to its last."""
    by_target: dict[str, list[dict]] = {}
    for row in rows:
        by_target.setdefault(row["target"], []).append(row)
    settle, changes, each, hours, final, before, before_each = [], 0, [], 0.0, [], set(), []
    probed, probed_hours, healthy_last = 0, 0.0, None
    for target, snapshots in by_target.items():
        start = snapshots[0]["t"]
        probed += (probes or {}).get(target, 0)
        probed_hours += (snapshots[-1]["t"] - start) / 3600
        first = next((s["t"] for s in snapshots if s["status"] == EXPECTED[p]), None)
        final.append(snapshots[-1]["status"])
        settle.append(None if first is None else first - start)
        before_each.append({s["status"] for s in snapshots if first is None or s["t"] < first})
        healthy = [s["t"] - start for s in snapshots if s["status"] == "healthy"]
        if healthy and EXPECTED[p] != "healthy":
            healthy_last = max(healthy_last or 0.0, healthy[-1])
        before |= before_each[-1]
        after = [s for s in snapshots if first is not None and s["t"] >= first]
        each.append(sum(1 for a, b in itertools.pairwise(after) if a["status"] != b["status"]))
        changes += each[-1]
        if after:
            hours += (after[-1]["t"] - first) / 3600
    reached = [s for s in settle if s is not None]
    return {"p": p, "targets": len(by_target), "names": list(by_target), "expected": EXPECTED[p],
            "reached": len(reached),
            "settle_s": settle, "changes_each": each, "before_each": before_each,
            "settle_median_s": statistics.median(reached) if reached else None,
            "settle_max_s": max(reached) if reached else None, "changes": changes,
            "target_hours": hours, "final": final, "before": sorted(before), "healthy_last_s": healthy_last,
            "probes_per_hour": probed / probed_hours if probes is not None and probed_hours else None}


def met(rate: dict, i: int) -> bool:
    """Whether the rate's target `i` (of `summarize`) settled on the expected status within the
    goal (1 %: stayed healthy, nothing but unknown before it and no change after)."""
    goal, settled = GOAL_S[rate["p"]], rate["settle_s"][i]
    if goal is None:
        return settled is not None and rate["changes_each"][i] == 0 and rate["before_each"][i] <= {"unknown"}
    return settled is not None and settled <= goal


def at_goal(p: float, snapshots: list[dict]) -> tuple[float, str]:
    """When a target of rate `p` (its snapshots in time order) is judged against its goal, and
    what it read then: the goal after its first snapshot and its status at that instant; for 1 %,
    its last snapshot and the first status it read besides healthy and unknown (else unknown)."""
    if GOAL_S[p] is None:
        return snapshots[-1]["t"], next((s["status"] for s in snapshots
                                         if s["status"] not in ("healthy", "unknown")), "unknown")
    until = snapshots[0]["t"] + GOAL_S[p]
    return until, [s["status"] for s in snapshots if s["t"] <= until][-1]


def verdict(rate: dict) -> str:
    per_hour = rate["changes"] / rate["target_hours"] if rate["target_hours"] else 0.0
    met_all = all(met(rate, i) for i in range(rate["targets"]))
    return "met" if met_all and (GOAL_S[rate["p"]] is None or per_hour <= MAX_CHANGES_PER_HOUR) else "**not met**"


def cells(row: dict) -> tuple[float, str, str, str]:
    """A summarized row's changes per target-hour, settle median and max (s, "-" when none
    settled) and final statuses with their counts, as the tables show them."""
    per_hour = row["changes"] / row["target_hours"] if row["target_hours"] else 0.0
    median = "-" if row["settle_median_s"] is None else f"{row['settle_median_s']:.0f}"
    worst = "-" if row["settle_max_s"] is None else f"{row['settle_max_s']:.0f}"
    finals = ", ".join(f"{s} x{row['final'].count(s)}" for s in sorted(set(row["final"])))
    return per_hour, median, worst, finals


def healthy_cell(row: dict) -> str:
    """The latest second after its first snapshot at which a target of a rate expected not to be
    healthy read `healthy` ("-": none did; "n/a" for a rate expected healthy)."""
    if row["expected"] == "healthy":
        return "n/a"
    return "-" if row["healthy_last_s"] is None else f"{row['healthy_last_s']:.0f}"


def section(result: dict) -> list[str]:
    lines = [
        "## Settle, then hold: targets failing at random", "",
        (f"{result['per_rate']} targets per error rate through `llmhealth run` at default settings, each "
         "a simulator model answering HTTP 500 to a fraction p of requests (completion and stream probes "
         f"every 5 s, half an interval apart), for {result['minutes']:g} min. Settle: time from a target's first snapshot until it "
         "first holds the expected status; changes: status changes after that, per target-hour. Goals: "
         "1 % stays healthy (nothing but unknown before its first healthy, no change after); 10 % and 30 % degraded within 2 min; 50 %, 90 %, 100 % unhealthy within 30 s; at "
         "most 1 change per hour after settling. Last healthy: the latest second after its first snapshot at which a target of the rate read healthy (\"-\": none did). Probes / h: the probes of each kind stored per "
         "target-hour, against the 1,440 of the two kinds' slots: the confirmation and doubt probes "
         "(`prober.doubt_probes`, at most 120 an hour per kind) come on top. Misses: each target that "
         "missed its goal, its status at the goal and the probes stored by then (failed/all of its "
         "completion · stream kinds; at 1 %: the first status besides healthy and unknown it read, and "
         "the whole run)."), "",
        "| p | expected | reached | settle median (s) | settle max (s) | last healthy (s) | changes | target-hours | changes / h | final statuses | probes / h | goal | misses: status and evidence at the goal |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for r in result["rates"]:
        per_hour, median, worst, finals = cells(r)
        probes = "-" if r.get("probes_per_hour") is None else f"{r['probes_per_hour']:,.0f}"
        lines.append(f"| {r['p']:.0%} | {r['expected']} | {r['reached']} of {r['targets']} | {median} | "
                     f"{worst} | {healthy_cell(r)} | {r['changes']} | {r['target_hours']:.1f} | {per_hour:.1f} | {finals} | "
                     f"{probes} | {verdict(r)} | {', '.join(r['missed']) or '-'} |")
    return lines


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = measure(Path(tmp), per_rate=2, minutes=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
        print("\n".join(section(res)))
