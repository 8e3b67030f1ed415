"""The end-to-end detection section of BENCHMARKS.md, from `bench.detection.measure`'s result."""

from __future__ import annotations

DETECT_GOAL_S = 10.0
RECOVER_GOAL_S = 15.0
DETECT_GOAL_MODES = ("http_500", "refused", "timeout", "stream_stall")
"""Modes with a detection goal: refused connections and 500s (issue 6), hangs and stalls
(issue 14, cut by the probe bounds)."""


def section(result: dict) -> list[str]:
    """BENCHMARKS.md lines for `result`."""
    n = result["per_mode"]
    lines = [
        "## End-to-end detection and recovery (default settings)", "",
        ("`llmhealth run` (embedded store, rotel, prober, aggregator) with every setting at its default "
         "(probe interval 5 s, completion and stream probes, prober timeout 10 s, first-byte and gap bounds "
         "`auto` (4 × the longest of the last 50 successes, at least 1 s, from the 5th success on), "
         "a target's kinds spread evenly over the interval, confirmation re-probes 1 s apart (at once "
         "after a probe cut at its bound), doubt probes 1 s apart up to 120 an hour, backoff of the "
         "token-spending kinds from the 6th failure in a row that may have been billed, up to 60 s, with a "
         "free liveness probe (`models`) every 5 s meanwhile, export every 1 s and at once for a failure, "
         "rotel batch 0.5 s, aggregator instant every 2 s + 0.25 s, breaker 3 failures / 2 successes / "
         f"5 s cooldown, hysteresis 2), {result['targets']} targets against the simulator: {n} per row "
         "below, each its own simulator model behind its own TCP forwarder port (`bench/forwarder.py`), "
         "so each is its own endpoint and its own sample (its probes run on their own random phase). "
         "All targets flip at once; a row flips back once all its targets were seen unhealthy, or after "
         "the stated outage. HTTP 500 comes from the chat route only (the model list keeps answering); "
         "refused connections take the whole endpoint down; a hang answers nothing; a stall stops the "
         "answer halfway (after the first chunks of a stream). The \"bounds off\" row sets both bounds to "
         "the 10 s timeout on its targets: the behaviour before the bounds, in the same run. Times run "
         "from the flip until `SELECT target, status FROM health_latest`, polled every "
         f"{result['poll_s']:g} s over the store's HTTP endpoint, shows `unhealthy` (detection) and, "
         "after flipping back, `healthy` (recovery). Targets had been healthy for at least "
         f"{result['warmup_s']:.0f} s, so each kind had `breaker.min_requests` requests of its own before "
         "the flip, as a target monitored for more than a minute has (a younger target's outage stays in "
         "its rule window after it recovers: docs/health-model.md, \"Outage\"). "
         f"Goal: detection p95 ≤ {DETECT_GOAL_S:g} s for HTTP 500, refused "
         f"connections, hangs and stalls; recovery p95 ≤ {RECOVER_GOAL_S:g} s after outages of any "
         "length."), "",
        "| failure mode | detected | detection p50 / p95 / max (s) | outage (s, median) | recovered | recovery p50 / p95 / max (s) | goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in result["modes"]:
        d, r = m["detect"], m["recover"]
        lines.append(f"| {m['label']} | {d['n']}/{m['targets']} | {_s(d)} | {m['outage_s']:.0f} | "
                     f"{r['n']}/{m['targets']} | {_s(r)} | {goal(m)} |")
    lines += ["", *_parts_table(result)]
    lines += ["", *_cost_table(result)]
    if result.get("slow"):
        lines += ["", *_slow_table(result["slow"])]
    notes = _notes(result)
    return lines + (["", *notes] if notes else [])


def goal(m: dict) -> str:
    """The goal column: detection (where it has a goal) and recovery, met or not."""
    d, r = m["detect"], m["recover"]
    recovery_ok = r["p95"] <= RECOVER_GOAL_S and r["n"] == m["targets"]
    recovery = f"recovery {'met' if recovery_ok else '**not met**'}"
    if m["bounds_off"]:
        return "(before)"
    if m["mode"] not in DETECT_GOAL_MODES or m["hold"]:
        return recovery
    detect_ok = d["p95"] <= DETECT_GOAL_S and d["n"] == m["targets"]
    if detect_ok and recovery_ok:
        return "met"
    return f"detection {'met' if detect_ok else '**not met**'}, {recovery}"


def _parts_table(result: dict) -> list[str]:
    lines = [
        ("Where the time goes (medians per part, seconds): *first point* = flip → the first failed "
         "(recovery: successful) probe's point is exported (waiting for the target's next probe, "
         "the probe itself, its export); *confirm* = → the point that decided the "
         "status is exported (confirmation re-probes 1 s apart until the breaker's 3 failures or "
         "2 successes, or enough failures for the error-rate rule); *collector* = → stored (rotel "
         "batch and insert); *instant* = → the aggregator instant that changed the status (the 2 s "
         "grid, the breaker's cooldown); *evaluate* = → seen by the poll (0.25 s settle, the "
         "evaluation, the poll). Status paths are the status events of the whole round."), "",
        "| failure mode | phase | first point | confirm | collector | instant | evaluate | status paths (events) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in result["modes"]:
        paths = "; ".join(f"{p} ×{c}" for p, c in sorted(m["event_paths"].items(), key=lambda x: -x[1]))
        for phase, label in (("detect", "detection"), ("recover", "recovery")):
            p = m["parts"][phase]
            lines.append(f"| {m['label']} | {label} | {p['first_failure']:.1f} | {p['confirm']:.1f} | "
                         f"{p['collector']:.1f} | {p['instant']:.1f} | {p['evaluate']:.1f} | "
                         f"{paths if phase == 'detect' else ''} |")
    return lines


def _cost_table(result: dict) -> list[str]:
    """What a target that stays down costs: measured probes and tokens per target during each
    long outage, against today's cadence arithmetic."""
    rows = [m for m in result["modes"] if m["hold"] and m["cost"]]
    if not rows:
        return []
    per_probe = result["tokens_per_probe"]
    lines = [
        ("What a target that stays down costs, per target during the outage (means over the row's "
         "targets, from the stored points): *token-spending probes* = failed `completion` and "
         "`stream` probes, and of them *billable*, those whose failure may have been billed (not a "
         "refused connection or an error status answered before any generation: those keep their "
         "slots instead of backing off); *backoff* = the count of probes the backoff allows a target "
         "whose every failure may be billed, from the cadence arithmetic "
         "(`bench.outage_cost.today_costly_probes`, mean over the phase); *free probes* = liveness "
         "probes (`models`, no tokens), in brackets those that failed; *tokens* = tokens the "
         "provider reported as used; *at most* = if every billable probe had been billed like an "
         f"answered probe ({per_probe:.1f} tokens each, measured before the flip), against the "
         "backoff's allowance."), "",
        "| failure mode | outage (s) | token-spending probes | billable | backoff | free probes (failed) | tokens | at most (allowance) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        cost = m["cost"]
        today = result["today"][f"{m['hold']:g}"]
        lines.append(f"| {m['label']} | {cost['outage_s']:.0f} | {cost['costly']:.1f} | "
                     f"{cost.get('billable', cost['costly']):.1f} | {today:.1f} | "
                     f"{cost['free']:.1f} ({cost.get('free_failed', 0.0):.1f}) | {cost['tokens']:.0f} | "
                     f"{cost.get('billable', cost['costly']) * per_probe:.0f} ({today * per_probe:.0f}) |")
    return lines


def _slow_table(slow: dict) -> list[str]:
    shortest = slow["shortest_timeout_s"]
    cut = "none" if shortest is None else f"{shortest:.1f} s"
    return [
        (f"A slow model beside them: {slow['targets']} targets running the demo's `demo-slow` "
         "(latency p50 3 s / p99 8 s, TTFT p50 2.5 s / p99 6 s) for the whole run. A probe cut by a "
         "bound would be a `timeout` shorter than the 10 s `prober.timeout`."), "",
        "| probes | ok | timeouts | shortest timeout | longest successful probe (s) |",
        "|---:|---:|---:|---:|---:|",
        (f"| {slow['probes']:,} | {slow['outcomes'].get('ok', 0):,} | {slow['timeouts']} | {cut} | "
         f"{slow['longest_ok_s']:.1f} |"),
    ]


SLOWEST = (" The slowest targets of a row add up the worst of each part: up to half an interval "
           "(2.5 s: the target's two kinds run half an interval apart) until their first probe after "
           "the flip, 1 s more per failed probe, the export and the collector's batch, and up to one "
           "aggregator interval (2 s) until the next instant.")


def _notes(result: dict) -> list[str]:
    """What the parts say, for the rows that need it."""
    notes = []
    for m in result["modes"]:
        recover, detect = m["parts"]["recover"], m["parts"]["detect"]
        if m["hold"] and recover["first_failure"] > 10:
            notes.append(
                f"- {m['label']}: recovery waits {recover['first_failure']:.0f} s (median) for the first "
                "successful probe: the token-spending kinds were backed off and the free probe did not "
                "wake them.")
        elif m["bounds_off"]:
            notes.append(
                f"- {m['label']}: every failed probe takes the 10 s timeout, so the first failure is exported "
                f"after {detect['first_failure']:.0f} s and the breaker's 3 failures after "
                f"{detect['first_failure'] + detect['confirm']:.0f} s (medians).")
        elif m["mode"] in ("timeout", "stream_stall") and not m["hold"]:
            notes.append(
                f"- {m['label']}: each failed probe is cut at its bound (1 s, the floor, for these "
                f"targets), so the first failure is exported after {detect['first_failure']:.1f} s and the "
                f"breaker's 3 failures after {detect['first_failure'] + detect['confirm']:.1f} s (medians)."
                + (SLOWEST if m["detect"]["p95"] > DETECT_GOAL_S else ""))
        elif m["detect"]["p95"] > DETECT_GOAL_S or m["recover"]["p95"] > RECOVER_GOAL_S:
            notes.append(f"- {m['label']}: see the parts above.")
        if m.get("relapses"):
            notes.append(f"- {m['label']}: {len(m['relapses'])} of {m['targets']} targets left `healthy` "
                         f"again after recovering; the first of them as `{m['relapses'][0]}`.")
    return notes


def _s(stats: dict) -> str:
    return f"{stats['p50']:.1f} / {stats['p95']:.1f} / {stats['max']:.1f}"
