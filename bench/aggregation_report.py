"""BENCHMARKS.md section for the evaluation cycle-time results of bench/aggregation.py."""

from __future__ import annotations

from bench.aggregation import LOOKUPS, PER_INSTANT, TABLES, TIMED_BEFORE_MINUTE, WARMUP
from bench.statement_phases import PHASES


def fixed_ms(result: dict) -> float:
    """ms of a cycle's statements spent before reading any data: parse to pipeline."""
    return sum(result["phases_ms"][s][p] for s in PER_INSTANT for p in PHASES)


def verdicts(by_key: dict) -> list[str]:
    """One line per goal: met or not, with the numbers."""
    out = []
    for targets, limit in ((1_000, 100), (10_000, 1_000)):
        row = by_key.get((targets, 1))
        if row:
            verdict = "met" if row["median_ms"] <= limit else "**not met**"
            out.append(f"- ≤ {limit:,} ms at {targets:,} targets: {verdict} (median {row['median_ms']:,.0f} ms, "
                       f"{row['median_ms'] / limit:.1f}× the goal).")
    one, thousand = by_key.get((1, 1)), by_key.get((1_000, 1))
    if one and thousand:
        fixed = fixed_ms(thousand)
        out.append(f"- Fixed cost: one target takes {one['median_ms']:,.0f} ms a cycle, 1,000 take "
                   f"{thousand['median_ms']:,.0f} ms; the rows of 1,000 targets add "
                   f"{thousand['median_ms'] - one['median_ms']:,.0f} ms. At 1,000 targets, parsing, analysing and "
                   f"planning the {len(PER_INSTANT)} statements take {fixed:,.0f} ms of it, paid whatever the data "
                   "(next tables).")
    ratios = [f"{t:,} targets {by_key[(t, 30)]['median_ms'] / by_key[(t, 1)]['median_ms']:.2f}"
              for (t, d) in sorted(by_key) if d == 30 and (t, 1) in by_key]
    if ratios:
        out.append("- 30 d / 1 d: " + ", ".join(ratios) + " (1.00 is flat; a higher load during one of the two sequences inflates it).")
    return out


def section(results: list[dict], history: list[dict]) -> list[str]:
    """BENCHMARKS.md lines for the cycle-time results."""
    lines = [
        "## Evaluation cycle time (aggregator `evaluate()`, statement by statement)", "",
        ("Each row: one fresh database filled with `INSERT … SELECT FROM numbers()` straight into "
         "`health_points` (the materialized views fill the minute/hour/day rollups; the otel_metrics_* "
         "tables stay empty, the evaluation never reads them): per target, for each of its two default probe kinds "
         "(completion and stream) and per probe, one outcome point (1 % `http_5xx`) and one latency "
         "histogram point (scale-5 buckets), at the density in the table. Then consecutive instants 2 s apart, each after storing the points of the 2 s before "
         f"it (state carries from snapshot to snapshot as in the worker): {WARMUP} untimed, "
         f"{TIMED_BEFORE_MINUTE + 1} timed ordinary instants, and the minute's first instant, which also "
         "writes the 1 h window (evaluate_long_windows.sql) and `health_slo` (reported apart). \"30 days\" adds 29 older days to the same database and "
         "runs the next minute. Retention set to 35 days for points and minute rollups (default 7), so "
         "the old days stay. Goal: ≤ 100 ms at 1,000 targets, ≤ 1 s at 10,000, flat in retention."), "",
        "| targets | data | cycle median (ms) | p90 (ms) | windows | kinds | snapshots | events | other SQL | Python | minute instant (ms) | of it 1 h window (ms) | of it SLO (ms) | 30 d / 1 d | load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(r["targets"], r["days"]): r for r in results}
    for r in results:
        s = r["statements_ms"]
        base = by_key.get((r["targets"], 1))
        ratio = f"{r['median_ms'] / base['median_ms']:.2f}" if base and r["days"] != 1 else ""
        lines.append(
            f"| {r['targets']:,} | {r['days']} d | {r['median_ms']:.0f} | {r['p90_ms']:.0f} | "
            f"{s['evaluate_windows']:.0f} | {s['evaluate_kinds']:.0f} | {s['evaluate_snapshots']:.0f} | "
            f"{s['record_events']:.0f} | {s['other']:.0f} | {s['python']:.0f} | {r['minute_ms']:.0f} | "
            f"{r['minute_statements_ms']['evaluate_long_windows']:.0f} | "
            f"{r['minute_statements_ms']['evaluate_slo']:.0f} | {ratio} | {r.get('load', float('nan')):.1f} |")
    lines += ["", ("Statement columns are medians in ms over the ordinary instants (`windows` = "
                   "evaluate_windows.sql, `kinds` = evaluate_kinds.sql, `snapshots` = evaluate_snapshots.sql, "
                   "`events` = record_events.sql; "
                   "`Python` = evaluate() outside SQL (parameters; the target set's rows are built once "
                   "per configuration); `load` = the machine's 1-minute load average at the end of the sequence, "
                   "2.0 being both cores busy: others share this machine)."), "", *verdicts(by_key), "",
              ("After each sequence, the SELECT of evaluate_windows (1 m and 5 m, from the raw points) "
               "and of evaluate_long_windows (1 h, from `health_minutes`), median of 3 (ms):"), "",
              "| targets | data | windows: 1 m + 5 m | windows: 1 h |", "|---:|---|---:|---:|"]
    for r in results:
        w = r["windows_split_ms"]
        lines.append(f"| {r['targets']:,} | {r['days']} d | {w['short']:.0f} | {w['long']:.0f} |")
    lines += ["", ("Where the time of each statement run at every instant goes, by ClickHouse's profile events "
                   "(`system.events`, bench/statement_phases.py), median of 5 runs at the last instant (ms): "
                   "parse, analysis, building the query plan, optimising it, building the pipeline, and the "
                   "rest of the query time (reading, computing, writing a part). Parse to pipeline do the same "
                   "work whatever the data, in every row and every run, so they also show how fast the shared "
                   "machine was: compare runs by them before comparing cycle times."), "",
              "| targets | data | statement | " + " | ".join(PHASES) + " | rest | total |",
              "|---:|---|---|" + "---:|" * (len(PHASES) + 2)]
    for r in results:
        for name in PER_INSTANT:
            ph = r["phases_ms"][name]
            lines.append(f"| {r['targets']:,} | {r['days']} d | {name} | "
                         + " | ".join(f"{ph[k]:.1f}" for k in (*PHASES, "rest", "total")) + " |")
    lines += ["",
              ("Rows in the tables when each sequence started (as stored, before background merges "
              "fold the aggregating rollups):"), "",
              "| targets | data | points density | " + " | ".join(f"`{t}`" for t in TABLES) + " |",
              "|---:|---|---|" + "---:|" * len(TABLES)]
    for r in results:
        lines.append(f"| {r['targets']:,} | {r['days']} d | {r['shape'] if r['days'] == 1 else '〃'} | "
                     + " | ".join(f"{r['rows'][t]:,}" for t in TABLES) + " |")
    if history:
        t = history[0]["targets"]
        lines += [
            "", f"### As a day of snapshots accumulates ({t:,} targets)", "",
            ("The worker writes one `health_snapshots` row and two `health_windows` rows (1 m, 5 m; the 1 h "
             "window too at a minute's first instant) per target every 2 s (43,200 instants a day) into one "
             "partition per day, ordered by time, then target. Here earlier "
             "instants are added to today's partition (copies of an evaluated instant) and the measurement "
             "is repeated: as background merges left them (the newest copies a minute older than the "
             "first instant), and right after `OPTIMIZE … FINAL` folded them "
             "together with the last instants into one part (what a large merge does for a while). "
             "*Granules* is `EXPLAIN indexes = 1` for each state lookup at the last instant: granules read "
             "after partition, min-max and primary-key pruning / granules in the table."), "",
            "| snapshots of today | snapshot rows | window rows | cycle median (ms) | windows | kinds | snapshots | events | "
            + " | ".join(f"granules: {k}" for k in LOOKUPS) + " |",
            "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(LOOKUPS),
        ]
        for h in history:
            s = h["statements_ms"]
            lines.append(f"| {h['case']} | {h['rows']['health_snapshots']:,} | {h['rows']['health_windows']:,} | "
                         f"{h['median_ms']:.0f} | {s['evaluate_windows']:.0f} | {s['evaluate_kinds']:.0f} | "
                         f"{s['evaluate_snapshots']:.0f} | "
                         f"{s['record_events']:.0f} | " + " | ".join(h["lookups"][k] for k in LOOKUPS) + " |")
    return lines
