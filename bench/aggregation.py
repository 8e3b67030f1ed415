"""Evaluation cycle time: `aggregator.evaluate.Evaluator.evaluate()`, as the worker runs it,
for N targets with 1 day and with 30 days of probe data in the tables, statement by statement.

Data goes straight into `health_points` with `INSERT … SELECT FROM numbers()` (the
materialized views fill health_minutes/hours/days as they do in production; the otel_metrics_*
tables stay empty: the evaluation never reads them). Per target, for each of its default probe
kinds (completion and stream), and per probe: one outcome point (1 % `http_5xx`, drawn apart
per kind) and one latency histogram point (scale-5 buckets), stored 0.4 s after the
point's time, the targets' probes spread evenly over the probe interval. Each `Shape` says how
densely: every 5 s for the recent hours, thinner for the rest of the day and the 29 days
before. The database keeps 35 days of points and minute rollups (defaults: 7).

Cycles run as the worker runs them: consecutive instants 2 s apart, each after inserting the
points stored since the previous one, so streaks and breaker state carry from snapshot to
snapshot. The first `WARMUP` instants are not timed; of the timed ones, the minute's first
instant (which also writes health_slo) is reported apart. The "1 day" sequence runs first;
then the 29 older days are added and a second sequence runs a minute later ("30 days").
Instants are on a fixed clock (`CLOCK`: today 23:50 UTC) so that a day of history always
lies in one daily partition; nothing in the evaluation reads the wall clock.

`measure_history` adds hours of earlier snapshots and windows to today's partition (copies of
the latest instant's rows, shifted back 2 s at a time) and measures again: the cost of the
state lookups as a day of evaluations accumulates.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import sql
from aggregator.evaluate import (
    Evaluator,
    kind_params,
    long_window_params,
    snapshot_params,
    window_params,
)
from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from bench.statement_phases import phases_ms
from llmhealth_config.model import Config, RetentionSettings

INTERVAL = 2  # aggregator.interval (default)
PROBE_STEP = 5  # prober.interval (default)
WARMUP = 3
TIMED_BEFORE_MINUTE = 7  # timed instants before the minute's first one (one more after it)
LEAD = INTERVAL * (WARMUP + TIMED_BEFORE_MINUTE + 1)  # seconds from the first instant's points to the minute
PER_INSTANT = ("evaluate_windows", "evaluate_kinds", "evaluate_snapshots", "record_events")  # every instant
STATEMENTS = (*PER_INSTANT, "evaluate_long_windows", "evaluate_slo")
TABLES = ("health_points", "health_minutes", "health_hours", "health_days", "health_windows",
          "health_snapshots", "health_events", "health_slo")


def clock() -> datetime:
    """Today 23:50 UTC: the minute the first sequence is built around."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(hours=23, minutes=50)


@dataclass(frozen=True)
class Shape:
    """Probe points per target: every 5 s for the last `dense_hours`, then one every
    `day_step` s for the rest of the last 24 h, then one every `old_step` s for the days
    before (the "30 days" case)."""

    dense_hours: float
    day_step: int
    old_step: int

    def text(self) -> str:
        if self.dense_hours >= 24:
            day = "every 5 s for the last 24 h"
        else:
            day = (f"every 5 s for the last {self.dense_hours:g} h and every {_dur(self.day_step)} "
                   "for the rest of the 24 h")
        return f"{day}; every {_dur(self.old_step)} on the 29 days before"


SHAPES = {1: Shape(24, 5, 300), 100: Shape(24, 5, 300), 1_000: Shape(24, 5, 600),
          10_000: Shape(1, 600, 7200)}

FILL = """
INSERT INTO health_points (inserted_at, time, start, temporality, series, source, target, provider, model,
                           signal, kind, outcome, value, buckets)
SELECT at, at - toIntervalMillisecond(400), at - toIntervalMillisecond(400), 1, cityHash64(t, kind, sig),
       'probe', t, 'bench', concat('m', t), sig, kind,
       if(sig = 'outcome' AND cityHash64(h, kind) % 100 = 0, 'http_5xx', 'ok'), 1,
       if(sig = 'latency', map(toInt16(floor(32 * log2(0.05 + (h % 1000) / 5000))), toUInt64(1)), map())
FROM (
    SELECT toDateTime64(0, 3, 'UTC')
               + toIntervalMillisecond(intDiv(number, {targets:UInt32}) * {step_ms:UInt64}
                                       + intDiv((number % {targets:UInt32}) * {step_ms:UInt64}, {targets:UInt32})) AS at,
           concat('t', toString(number % {targets:UInt32})) AS t,
           cityHash64(number, {step_ms:UInt64}) AS h
    FROM numbers({first:UInt64}, {count:UInt64})
    WHERE at > {after:DateTime64(3, 'UTC')} AND at <= {until:DateTime64(3, 'UTC')}
)
ARRAY JOIN ['outcome', 'latency'] AS sig
ARRAY JOIN ['completion', 'stream'] AS kind
"""

# The rows the evaluation's state lookups select, and how many granules they read for it (the
# previous snapshot from the previous instant, as a running worker looks it up).
LOOKUPS = {
    "previous kind rows (evaluate_kinds)": (
        "health_kinds",
        ("SELECT max(reason) FROM health_kinds WHERE evaluated_at >= {at:DateTime64(3, 'UTC')} - INTERVAL 2 SECOND "
        "AND evaluated_at < {at:DateTime64(3, 'UTC')}")),
    "previous snapshot (evaluate_snapshots)": (
        "health_snapshots",
        ("SELECT max(reason) FROM health_snapshots WHERE evaluated_at >= {at:DateTime64(3, 'UTC')} - INTERVAL 2 SECOND "
        "AND evaluated_at < {at:DateTime64(3, 'UTC')} AND kind = 'target'")),
    "this instant's windows (evaluate_kinds)": (
        "health_windows",
        ("SELECT sum(requests) FROM health_windows WHERE evaluated_at = {at:DateTime64(3, 'UTC')} "
        "AND window_seconds <= 300")),
    "this instant's snapshots (record_events)": (
        "health_snapshots",
        "SELECT max(reason) FROM health_snapshots WHERE evaluated_at = {at:DateTime64(3, 'UTC')}"),
}


class TimedStore:
    """The store, with the time of every statement recorded under its query file's name
    (`other` for the rest)."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.names = {sql.query(name): name for name in STATEMENTS}
        self.timings: dict[str, float] = {}

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def execute(self, text: str, params=None) -> None:
        started = time.perf_counter()
        self.store.execute(text, params)
        self._timed(self.names.get(text, "other"), started)

    def rows(self, text: str, params=None) -> list[dict]:
        started = time.perf_counter()
        out = self.store.rows(text, params)
        self._timed("other", started)
        return out


def fresh_store(engine_dir: Path, name: str) -> EmbeddedStore:
    """A migrated database that keeps 35 days of points and minute rollups."""
    store = EmbeddedStore(engine_dir, name)
    migrate(store, RetentionSettings(metrics_days=35, minutes_days=35))
    return store


def fill(store: EmbeddedStore, targets: int, step: int, after: datetime, until: datetime) -> int:
    """Probe points of `targets` targets, one per target every `step` s, stored in
    (`after`, `until`]; returns the rows inserted."""
    first_slot = int(after.timestamp()) // step - 1
    last_slot = int(until.timestamp()) // step + 1
    store.execute(FILL, {"targets": targets, "step_ms": step * 1000, "first": first_slot * targets,
                         "count": (last_slot - first_slot + 1) * targets, "after": after, "until": until})
    return store.rows("SELECT count() AS n FROM health_points WHERE inserted_at > {a:DateTime64(3, 'UTC')} "
                      "AND inserted_at <= {b:DateTime64(3, 'UTC')}", {"a": after, "b": until})[0]["n"]


def settle(store: EmbeddedStore, limit: float = 180.0) -> float:
    """Wait until no background merge runs (at most `limit` s); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not store.rows("SELECT count() AS n FROM system.merges")[0]["n"]:
            break
        time.sleep(1)
    return time.monotonic() - started


def config_for(targets: int) -> Config:
    return Config.model_validate({"targets": [
        {"name": f"t{i}", "base_url": "http://127.0.0.1:9/v1", "model": f"mt{i}", "provider": "bench"}
        for i in range(targets)]})


def run_sequence(store: EmbeddedStore, config: Config, targets: int, minute: datetime,
                 stored_until: datetime, after_warmup: Callable[[], None] | None = None,
                 ) -> tuple[list[dict], datetime]:
    """Evaluate the instants around `minute`, each after storing its fresh points; returns
    the timed cycles and the last instant."""
    timed = TimedStore(store)
    evaluator = Evaluator(timed, config)  # as the worker evaluates: one evaluator, instant after instant
    instants = [minute + timedelta(seconds=INTERVAL * k) for k in range(-(WARMUP + TIMED_BEFORE_MINUTE), 2)]
    cycles = []
    for index, at in enumerate(instants):
        if index == WARMUP and after_warmup:
            after_warmup()
        fill(store, targets, PROBE_STEP, stored_until, at)
        stored_until = at
        timed.timings = {}
        started = time.perf_counter()
        evaluator.evaluate(at)
        total = (time.perf_counter() - started) * 1000
        if index >= WARMUP:
            outside = total - sum(timed.timings.values())
            cycles.append({"at": at, "minute": at == minute, "total_ms": total, "python": outside,
                           **timed.timings})
    return cycles, stored_until


def table_rows(store: EmbeddedStore) -> dict[str, int]:
    return {t: store.rows(f"SELECT count() AS n FROM {t}")[0]["n"] for t in TABLES}


def summarize(cycles: list[dict]) -> dict:
    regular = [c for c in cycles if not c["minute"]]
    minute = next(c for c in cycles if c["minute"])
    totals = sorted(c["total_ms"] for c in regular)
    parts = (*PER_INSTANT, "other", "python")
    return {
        "cycles": len(regular),
        "median_ms": statistics.median(totals),
        "p90_ms": _quantile(totals, 0.9),
        "statements_ms": {s: statistics.median(c.get(s, 0.0) for c in regular) for s in parts},
        "minute_ms": minute["total_ms"],
        "minute_statements_ms": {s: minute.get(s, 0.0) for s in (*STATEMENTS, "other", "python")},
    }


def measure(store: EmbeddedStore, targets: int, days: tuple[int, ...] = (1, 30), shape: Shape | None = None,
            minute: datetime | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Fill a day, evaluate; then for each further entry of `days`, add the older days and
    evaluate a minute later. One result per entry of `days`."""
    shape = shape or SHAPES[targets]
    config = config_for(targets)
    minute = minute or clock()
    first = minute - timedelta(seconds=LEAD)
    day_start = first - timedelta(days=1)
    dense_start = max(day_start, first - timedelta(hours=shape.dense_hours))
    started = time.perf_counter()
    added = fill(store, targets, shape.day_step, day_start, dense_start) if dense_start > day_start else 0
    added += fill(store, targets, PROBE_STEP, dense_start, first)
    fill_s = time.perf_counter() - started
    results, stored_until = [], first
    for n_days in days:
        if n_days > 1:
            started = time.perf_counter()
            added = fill(store, targets, shape.old_step, day_start - timedelta(days=n_days - 1), day_start)
            fill_s = time.perf_counter() - started
            minute += timedelta(minutes=1)
            gap_end = minute - timedelta(seconds=LEAD)
            fill(store, targets, PROBE_STEP, stored_until, gap_end)
            stored_until = gap_end
        log(f"  {targets:,} targets, {n_days} day(s): {added:,} points added in {fill_s:.0f} s")
        waited = settle(store)
        rows = table_rows(store)
        cycles, stored_until = run_sequence(store, config, targets, minute, stored_until)
        result = {"targets": targets, "days": n_days, "shape": shape.text(), "fill_s": fill_s,
                  "settle_s": waited, "rows": rows, **summarize(cycles), "statuses": _statuses(store, stored_until),
                  "load": os.getloadavg()[0],
                  "windows_split_ms": split_windows(store, config, stored_until),
                  "phases_ms": statement_phases(store, config, stored_until)}
        log(f"  {targets:,} targets, {n_days} day(s): median {result['median_ms']:.0f} ms, p90 "
            f"{result['p90_ms']:.0f} ms, minute instant {result['minute_ms']:.0f} ms; "
            + ", ".join(f"{k} {v:.0f}" for k, v in result["statements_ms"].items()) + f"; {result['statuses']}")
        results.append(result)
    return results


def split_windows(store: EmbeddedStore, config: Config, at: datetime, repeats: int = 3) -> dict[str, float]:
    """Median ms of the SELECT of evaluate_windows (1 m and 5 m from raw points) and of
    evaluate_long_windows (1 h from health_minutes) at `at`."""
    evaluator = Evaluator(store, config)
    version = evaluator.register(evaluator.target_set([(t.name, t) for t in config.targets]))
    cases = {"short": ("evaluate_windows", window_params(config, at, version)),
             "long": ("evaluate_long_windows", {**long_window_params(config, at, version), "long_windows": [3600]})}
    out = {}
    for case, (name, params) in cases.items():
        text = sql.query(name)
        select = text[text.index("WITH"):]
        out[case] = _median_ms(lambda s=select, p=params: store.rows(s, p), repeats)
    return out


def statement_phases(store: EmbeddedStore, config: Config, at: datetime) -> dict[str, dict[str, float]]:
    """Per statement run at every instant: ms per phase (bench/statement_phases.py), at `at`
    again (re-evaluating an instant writes the same rows), with the previous instant known as
    the worker knows it."""
    evaluator = Evaluator(store, config)
    version = evaluator.register(evaluator.target_set([(t.name, t) for t in config.targets]))
    previous_at = at - timedelta(seconds=INTERVAL)
    params = {"evaluate_windows": window_params(config, at, version),
              "evaluate_kinds": kind_params(config, at, version, previous_at),
              "evaluate_snapshots": snapshot_params(config, at, version, previous_at),
              "record_events": {"at": at}}
    return {name: phases_ms(store, sql.query(name), p) for name, p in params.items()}


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure_history(store: EmbeddedStore, targets: int = 1_000, hours: float = 4.0,
                    minute: datetime | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Cycle times as today's partition of health_snapshots and health_windows fills: with no
    earlier snapshots; with `hours` of them in parts of their own (a minute old and more, as
    background merges usually leave them); and with all of today merged into one part that
    reaches the instant before (a merge that just folded the recent parts into the day's)."""
    config = config_for(targets)
    minute = minute or clock()
    stored_until = minute - timedelta(seconds=LEAD)
    fill(store, targets, PROBE_STEP, stored_until - timedelta(minutes=65), stored_until)
    cases = (("none", 0.0, None),
             (f"{hours:g} h, as background merges left them", hours, None),
             (f"{hours:g} h, merged with the last instants", hours, lambda: _merge(store)))
    results = []
    for n, (label, wanted, after_warmup) in enumerate(cases):
        if n:
            minute += timedelta(minutes=1)
            gap_end = minute - timedelta(seconds=LEAD)
            fill(store, targets, PROBE_STEP, stored_until, gap_end)
            stored_until = gap_end
        if wanted and n == 1:
            started = time.perf_counter()
            _copy_history(store, stored_until - timedelta(seconds=60), wanted)
            log(f"  history: {wanted:g} h of snapshots added ({time.perf_counter() - started:.0f} s)")
        settle(store)
        cycles, stored_until = run_sequence(store, config, targets, minute, stored_until, after_warmup)
        result = {"targets": targets, "case": label, "rows": table_rows(store), **summarize(cycles),
                  "lookups": lookups(store, stored_until)}
        log(f"  {targets:,} targets, snapshots of today: {label}: median {result['median_ms']:.0f} ms; "
            + ", ".join(f"{k} {v:.0f}" for k, v in result["statements_ms"].items()) + f"; {result['lookups']}")
        results.append(result)
    return results


def _merge(store: EmbeddedStore) -> None:
    for table in ("health_snapshots", "health_windows"):
        store.execute(f"OPTIMIZE TABLE {table} FINAL")


def _copy_history(store: EmbeddedStore, newest: datetime, hours: float) -> None:
    """Copies of the latest evaluated instant's snapshots and windows at every 2 s instant of
    the `hours` up to `newest`."""
    latest = store.rows("SELECT max(evaluated_at) AS at FROM health_snapshots")[0]["at"]
    latest = datetime.fromisoformat(latest).replace(tzinfo=UTC)
    for table in ("health_snapshots", "health_windows"):
        store.execute(
            f"INSERT INTO {table} SELECT x.* REPLACE ({{newest:DateTime64(3, 'UTC')}} "
            "- toIntervalSecond({step:UInt32} * k.number) AS evaluated_at) "
            f"FROM (SELECT * FROM {table} WHERE evaluated_at = {{latest:DateTime64(3, 'UTC')}}) AS x "
            "CROSS JOIN numbers({count:UInt64}) AS k",
            {"newest": newest, "step": INTERVAL, "count": int(hours * 3600 / INTERVAL), "latest": latest})


def lookups(store: EmbeddedStore, at: datetime) -> dict[str, str]:
    """Granules read (after partition, min-max and primary-key pruning) / granules in the
    table, per state lookup of the evaluation at `at`."""
    out = {}
    for label, (table, text) in LOOKUPS.items():
        plan = [r["explain"].strip() for r in store.rows("EXPLAIN indexes = 1 " + text, {"at": at})]
        steps = [line.split(":", 1)[1].strip() for line in plan if line.startswith("Granules:") and "/" in line]
        out[label] = f"{steps[-1].split('/')[0]} / {steps[0].split('/')[1]}" if steps else "?"
    return out


def _statuses(store: EmbeddedStore, at: datetime) -> dict[str, int]:
    rows = store.rows("SELECT status, count() AS n FROM health_snapshots FINAL "
                      "WHERE evaluated_at = {at:DateTime64(3, 'UTC')} GROUP BY status", {"at": at})
    return {r["status"]: r["n"] for r in rows}


def _quantile(ordered: list[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _dur(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


if __name__ == "__main__":
    import sys
    import tempfile

    from bench import aggregation_report

    with tempfile.TemporaryDirectory() as tmp:
        sizes = [int(x) for x in sys.argv[1:]] or [100]
        res = [r for n in sizes for r in measure(fresh_store(Path(tmp), f"agg_{n}"), n)]
        hist = measure_history(fresh_store(Path(tmp), "agg_history"), targets=sizes[0], hours=0.5)
        print("\n".join(aggregation_report.section(res, hist)))
