"""Passive: sustained application failures with healthy probes, settle then hold, through the
real pipeline at default settings (`bench.pipeline`), judged by the targets' status over time.

Each target is its own simulator model behind its own forwarder, probed with the default probes
(completion and stream every 5 s). One real application (`harness.instrumented`: the official
`openai` client under `opentelemetry-instrumentation-openai-v2`, a child process exporting
OTLP/gRPC to the pipeline's collector) sends 1 request/s to every target, at the address the
target probes, with a 0.5 s client timeout. Groups:

- `all-fail`: answers take 1.5-2 s, so every application request times out, while the probes
  (latency threshold raised to 30 s) succeed;
- `half-fail`: answers take 0.5 s at the median (the application's timeout), so about half of
  the application's requests time out, while the probes succeed;
- `control`: fast answers, every request succeeds.

Per group: the status it should settle on (EXPECTED, reasoning in REASONING), the time from
a target's first snapshot until it first holds that status, the status changes after that
while the application runs, per target-hour, and the application's own failure share.
Goals (issue: no flapping): settle within 2 min, at most 1 change per target-hour after
settling; the control stays healthy (nothing but unknown before it, no change after).
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path

from bench.pipeline import pipeline
from bench.settle import cells
from harness.instrumented import running_app

APP_TIMEOUT_S = 0.5
APP_RATE = 1.0  # requests per second per target
SLOW = {"thresholds": {"latency_p99": "30s"}}  # the probes' slow answers are healthy
GROUPS = {  # name -> (model behaviour, target settings)
    "all-fail": ({"latency_p50": 1.5, "latency_p99": 2.0}, SLOW),
    "half-fail": ({"latency_p50": APP_TIMEOUT_S, "latency_p99": 1.5}, SLOW),
    "control": ({}, {}),
}
EXPECTED = {"all-fail": "unhealthy", "half-fail": "unhealthy", "control": "healthy"}
REASONING = {
    "all-fail": ("every request fails: from `min_requests` (30) requests on, their error rate (100 %) "
                 "reaches `unhealthy_error_rate` (50 %); nothing moves the window (the probes' breakers "
                 "stay closed) and the rate stays far above the hold band (35 %)"),
    "half-fail": ("about half of the requests fail: from 30 requests on, the first instant whose "
                  "window holds 50 % or more failures makes the target `unhealthy`, as the kinds' rule "
                  "does (a rate at the threshold is not left to chance); it holds while the rate stays "
                  "at 35 % or more, which a true rate near 50 % over a window of 60 to 300 requests "
                  "always does (35 % is 5 standard deviations below it over 300)"),
    "control": "no request fails and the probes succeed",
}
GOAL_S = 120.0
MAX_CHANGES_PER_HOUR = 1.0
WINDOW_S = 300  # aggregator.window (default): the applications' requests are judged over it


def _name(group: str, i: int) -> str:
    return f"{group}-{i:02d}"


def measure(work: Path, per_group: int = 3, minutes: float = 30.0, log=print) -> dict:
    names = {_name(g, i): g for g in GROUPS for i in range(per_group)}
    models = {name: GROUPS[g][0] for name, g in names.items()}
    targets = {name: GROUPS[g][1] for name, g in names.items()}
    with pipeline(work, models, target_settings=targets) as pipe:
        routes = [f"{name}@http://127.0.0.1:{pipe.forwarders.ports[name]}/v1" for name in names]
        with running_app(work, routes, pipe.otlp, service="bench-app", rate=APP_RATE,
                         timeout=APP_TIMEOUT_S) as app:
            app_started = time.time()
            pipe.run_for(minutes, log, "passive")
            if app["process"].poll() is not None:
                raise RuntimeError(f"the application exited: {(work / 'bench-app.log').read_text()[-3000:]}")
            app_stopped = time.time()
            sent = app["counts"]()
        time.sleep(3)  # the last instant's snapshots are written
        rows = pipe.query("""
            SELECT target, toUnixTimestamp64Milli(evaluated_at) / 1000 AS t, status,
                   passive_requests, passive_errors
            FROM health_snapshots FINAL
            WHERE kind = 'target' AND target IN {names:Array(String)}
            ORDER BY target, evaluated_at""", {"names": list(names)})
    rows = [r for r in rows if r["t"] <= app_stopped]  # while the application ran
    by_port = {str(pipe.forwarders.ports[name]): name for name in names}
    outcomes: dict[str, dict[str, int]] = {name: {} for name in names}
    for (route, outcome), n in sent.items():
        name = by_port[route.rsplit(":", 1)[1].split("/")[0]]
        outcomes[name][outcome] = outcomes[name].get(outcome, 0) + n
    return {"per_group": per_group, "minutes": minutes,
            "groups": [summarize(g, [r for r in rows if names[r["target"]] == g],
                                 {n: o for n, o in outcomes.items() if names[n] == g}, app_started)
                       for g in GROUPS]}


def summarize(group: str, rows: list[dict], outcomes: dict[str, dict[str, int]],
              app_started: float) -> dict:
    """Per target of `group` (its snapshots in time order): seconds until it first held the
    expected status (None: never), status changes after that, its path of statuses, the
    application's failure share and the range of the window's error rate once full."""
    expected = EXPECTED[group]
    by_target: dict[str, list[dict]] = {}
    for row in rows:
        by_target.setdefault(row["target"], []).append(row)
    settle, changes, hours, final, before, paths, lags, window_rates = [], 0, 0.0, [], set(), {}, [], []
    held = 0
    for target, snapshots in sorted(by_target.items()):
        start = snapshots[0]["t"]
        lags.append(app_started - start)
        first = next((s["t"] for s in snapshots if s["status"] == expected), None)
        final.append(snapshots[-1]["status"])
        settle.append(None if first is None else first - start)
        before |= {s["status"] for s in snapshots if first is None or s["t"] < first}
        if first is not None:
            after = [s for s in snapshots if s["t"] >= first]
            changed = sum(1 for a, b in itertools.pairwise(after) if a["status"] != b["status"])
            changes += changed
            held += changed == 0
            hours += (after[-1]["t"] - first) / 3600
        paths[target] = [(s["status"], round(s["t"] - start)) for i, s in enumerate(snapshots)
                         if i == 0 or s["status"] != snapshots[i - 1]["status"]]
        window_rates += [s["passive_errors"] / s["passive_requests"] for s in snapshots
                         if s["t"] >= app_started + WINDOW_S + 10 and s["passive_requests"]]
    requests = sum(n for o in outcomes.values() for n in o.values())
    failed = sum(n for o in outcomes.values() for k, n in o.items() if k != "ok")
    shares = [sum(n for k, n in o.items() if k != "ok") / max(1, sum(o.values())) for o in outcomes.values()]
    kinds = sorted({k for o in outcomes.values() for k in o if k != "ok"})
    reached = [s for s in settle if s is not None]
    return {"group": group, "targets": len(by_target), "expected": expected, "reached": len(reached),
            "settle_median_s": statistics.median(reached) if reached else None,
            "settle_max_s": max(reached) if reached else None, "changes": changes, "held": held,
            "target_hours": hours, "final": final, "before": sorted(before), "paths": paths,
            "app_lag_s": max(lags) if lags else None, "requests": requests, "failed": failed,
            "share_min": min(shares, default=0.0), "share_max": max(shares, default=0.0),
            "error_kinds": kinds,
            "window_rate": (min(window_rates), max(window_rates)) if window_rates else None}


def verdict(group: dict) -> str:
    per_hour = group["changes"] / group["target_hours"] if group["target_hours"] else 0.0
    if not group["targets"]:
        met = False
    elif group["expected"] == "healthy":  # stays healthy: unknown at most before, no change after
        met = (group["reached"] == group["targets"] and group["changes"] == 0
               and set(group["before"]) <= {"unknown"})
    else:
        met = (group["reached"] == group["targets"] and group["settle_max_s"] is not None
               and group["settle_max_s"] <= GOAL_S and per_hour <= MAX_CHANGES_PER_HOUR)
    return "met" if met else "**not met**"


def _lag(result: dict) -> str:
    lags = [g["app_lag_s"] for g in result["groups"] if g["app_lag_s"] is not None]
    if not lags:
        return "when the store answered"
    worst = max(lags)
    return (f"within {worst:.0f} s of the targets' first snapshots" if worst >= 0
            else f"{-worst:.0f} s before the targets' first snapshots")


def _path(path: list[tuple[str, int]], limit: int = 8) -> str:
    steps = [f"{status} {t} s" for status, t in path]
    if len(steps) > limit:
        steps = [*steps[:limit], f"… ({len(steps) - limit} more)"]
    return " → ".join(steps)


def section(result: dict) -> list[str]:
    lines = [
        "## Passive: sustained application failures, settle then hold", "",
        (f"{result['per_group']} targets per group through `llmhealth run` at default settings, each a "
         "simulator model behind its own forwarder, probed with the default probes (completion and "
         "stream every 5 s). A real application (the official `openai` client under "
         "`opentelemetry-instrumentation-openai-v2`, a child process exporting OTLP/gRPC to the "
         f"pipeline's collector) sends {APP_RATE:g} request/s to each target, at the address the target "
         f"probes, with a {APP_TIMEOUT_S:g} s client timeout, for {result['minutes']:g} min. "
         "`all-fail`: answers take 1.5 s at the median (2 s p99), so every application request times "
         "out; `half-fail`: 0.5 s at the median (1.5 s p99), the application's timeout; both with "
         "`thresholds: {latency_p99: 30s}`, so the probes are healthy. `control`: fast answers. Settle: "
         "time from a target's first snapshot until it first holds the expected status (the "
         f"application started {_lag(result)} and is judged from `min_requests`, 30, requests on); "
         "changes: status changes after that "
         "while the application runs, per target-hour. Goals: settle within 2 min and at most 1 "
         "change per target-hour after; the control stays healthy (nothing but unknown before, no "
         "change after)."), "",
        "Expected statuses, from the rules in docs/health-model.md (\"Passive traffic\") and the default thresholds:", "",
    ]
    lines += [f"- `{g}`: {EXPECTED[g]}: {REASONING[g]}." for g in GROUPS]
    lines += [
        "",
        "| group | app requests failed | expected | reached | settle median (s) | settle max (s) | changes | target-hours | changes / h | final statuses | goal |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for g in result["groups"]:
        per_hour, median, worst, finals = cells(g)
        share = g["failed"] / g["requests"] if g["requests"] else 0.0
        spread = "" if g["share_min"] == g["share_max"] else f" ({g['share_min']:.1%}–{g['share_max']:.1%})"
        lines.append(f"| {g['group']} | {share:.1%} of {g['requests']:,}{spread} | {g['expected']} | "
                     f"{g['reached']} of {g['targets']} | {median} | {worst} | {g['changes']} | "
                     f"{g['target_hours']:.2f} | {per_hour:.1f} | {finals} | {verdict(g)} |")
    lines += ["", ("Each target's statuses (seconds from its first snapshot), the application's errors "
                   "and the 5-min window's error rate as the aggregator counted it once the window was "
                   "full:"), ""]
    for g in result["groups"]:
        rates = g["window_rate"]
        counted = "" if rates is None else f"; window error rate {rates[0]:.1%}–{rates[1]:.1%}"
        lines.append(f"- `{g['group']}` (errors: {', '.join(g['error_kinds']) or 'none'}{counted}; "
                     f"{g['held']} of {g['targets']} held {g['expected']} from settling to the end):")
        lines += [f"  - {target}: {_path(path)}" for target, path in g["paths"].items()]
    return lines


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = measure(Path(tmp), per_group=2, minutes=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
        print("\n".join(section(res)))
