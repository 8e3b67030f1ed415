"""The status rules replayed: the evaluation's own SQL over many targets failing at random.

The settle benchmark (bench/settle.py) runs 4 targets per error rate through `llmhealth run`:
the real processes, but too few targets to say how often the rules miss a goal. This one
replays the rules alone, 60 targets per rate in one embedded store. Each target's completion
and stream probes run as the prober's cadence runs them at default settings (`Cadence`: the
5 s slots half an interval apart from a random phase, the confirmation and doubt probes after a
failure), each failing with probability p (an HTTP 500 that takes 0.2 s); every probe's
outcome point is stored 1 s before the next evaluation instant, and `aggregator.evaluate`
evaluates every target every 2 s (`aggregator.interval`) for 10 min. What it leaves out is the
real pipeline's timing: export batches, probe latency, evaluations that run late. Goals and
the summary per rate are bench/settle.py's.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.evaluate import evaluate
from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from bench import settle
from llmhealth_config.aggregator import AggregatorSettings, BreakerSettings
from llmhealth_config.model import Config, ProberSettings, RetentionSettings
from prober.cadence import Cadence, CadenceRules

INSERT = """
INSERT INTO health_points (inserted_at, time, start, temporality, source, target, signal, kind, outcome, value)
SELECT inserted_at, time, time, 1, 'probe', target, 'outcome', kind, outcome, 1 FROM format(JSONEachRow,
    'inserted_at DateTime64(3, \\'UTC\\'), time DateTime64(3, \\'UTC\\'), target String, kind String,
     outcome String', {rows:String})
"""


def schedule(p: float, seconds: float, seed: int, offset: float) -> list[tuple[float, str]]:
    """(time, outcome) of one kind's probes as the prober's cadence (`prober.cadence`, default
    settings) runs them from `offset` seconds on: on the 5 s slots, 1 s apart after a failure
    (confirmation, then doubt), failing at random with probability p with an HTTP 500 that
    takes 0.2 s and costs nothing (no backoff)."""
    rng = random.Random(seed)
    settings = ProberSettings()
    cadence = Cadence(CadenceRules(
        settings.interval, settings.confirm_delay, confirm_failures=BreakerSettings().failures,
        backoff_after=settings.backoff_after, backoff_max=settings.backoff_max,
        retry_after_max=settings.retry_after_max, doubt_probes=settings.doubt_probes,
        doubt_successes=settings.doubt_successes), start=offset)
    probes = []
    while (t := cadence.planned) < seconds:
        failed = rng.random() < p
        probes.append((t, "http_5xx" if failed else "ok"))
        cadence.after(ok=not failed, retry_after_s=None, now=t + 0.2, free=True)
    return probes


def targets(per_rate: int, seconds: float) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """Per target (`settle.target_name`): its completion and stream probes, seeded by name."""
    probes = {}
    for p in settle.RATES:
        for i in range(per_rate):
            name = settle.target_name(p, i)
            rng = random.Random(name)
            phase = rng.uniform(0, 5)
            probes[name] = {"completion": schedule(p, seconds, rng.randrange(2**31), phase),
                            "stream": schedule(p, seconds, rng.randrange(2**31), (phase + 2.5) % 5)}
    return probes


def _stamp(start: datetime, offset_s: float) -> str:
    return (start + timedelta(seconds=offset_s)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def measure(engine_dir: Path, per_rate: int = 60, minutes: float = 10.0, log=print) -> dict:
    seconds = minutes * 60
    every = AggregatorSettings().interval
    probes = targets(per_rate, seconds)
    config = Config.model_validate({"targets": [
        {"name": name, "base_url": "http://127.0.0.1:9/v1", "model": name, "probes": ["completion", "stream"]}
        for name in probes]})
    store = EmbeddedStore(engine_dir, f"replay_{uuid.uuid4().hex[:8]}")
    migrate(store, RetentionSettings())
    start = datetime.now(UTC).replace(second=0, microsecond=0)  # recent: older points expire (TTL)
    try:
        steps = int(seconds // every)
        for step in range(1, steps + 1):
            at = step * every
            rows = [{"inserted_at": _stamp(start, at - 1), "time": _stamp(start, at - 1 + 0.01 * i),
                     "target": name, "kind": kind, "outcome": outcome}
                    for name, kinds in probes.items() for kind, runs in kinds.items()
                    for i, outcome in enumerate(o for t, o in runs if at - every < t <= at)]
            if rows:
                store.execute(INSERT, {"rows": "\n".join(json.dumps(r) for r in rows)})
            evaluate(store, config, start + timedelta(seconds=at))
            if step % round(60 / every) == 0:
                log(f"  replay: {at / 60:.0f} of {minutes:g} min")
        rows = store.rows("""
            SELECT target, toUnixTimestamp64Milli(evaluated_at) / 1000 AS t, status
            FROM health_snapshots FINAL
            WHERE kind = 'target'
            ORDER BY target, evaluated_at""")
    finally:
        store.execute_in_default("DROP DATABASE {db:Identifier}", {"db": store.database})
    if len({r["target"] for r in rows}) != len(probes):
        raise RuntimeError(f"snapshots of {len({r['target'] for r in rows})} of {len(probes)} targets: "
                           "the replay's points did not reach the rules")
    rates = [settle.summarize(p, settle.rows_of_rate(p, rows)) for p in settle.RATES]
    for rate in rates:
        rate["missed"] = [miss(rate["p"], [r for r in rows if r["target"] == name], probes[name], start.timestamp())
                          for i, name in enumerate(rate["names"]) if not settle.met(rate, i)]
    return {"per_rate": per_rate, "minutes": minutes, "rates": rates}


def miss(p: float, snapshots: list[dict], kinds: dict[str, list[tuple[float, str]]], start: float) -> str:
    """A target that missed its goal: its status at the goal (`settle.at_goal`) and the failed
    and all probes of each kind up to then ("completion · stream"), e.g. "unknown 2/31 · 1/27"."""
    until, status = settle.at_goal(p, snapshots)
    return f"{status} {evidence(kinds, until - start)}"


def evidence(kinds: dict[str, list[tuple[float, str]]], until_s: float) -> str:
    """A target's failed and all probes of each kind up to `until_s` seconds after the start:
    "completion · stream", e.g. "2/31 · 1/27"."""
    counts = [(sum(1 for t, o in runs if t <= until_s and o != "ok"), sum(1 for t, _ in runs if t <= until_s))
              for runs in kinds.values()]
    return " · ".join(f"{failed}/{n}" for failed, n in counts)


def within_goal(rate: dict) -> int:
    return sum(1 for i in range(rate["targets"]) if settle.met(rate, i))


def section(result: dict) -> list[str]:
    lines = [
        "## The status rules replayed: targets failing at random", "",
        (f"{result['per_rate']} targets per error rate, {result['minutes']:g} min each, through the "
         "evaluation's own SQL in one embedded store (`bench/settle_replay.py`): completion and stream "
         "probes as the prober's cadence runs them at default settings, each failing at random with "
         "probability p, evaluated every 2 s. The rules alone, without the pipeline's timing, over "
         "enough targets to say how often they miss the goals of \"Settle, then hold\" (1 %: stays "
         "healthy; 10 %, 30 %: degraded within 2 min; 50 % and more: unhealthy within 30 s; at most 1 "
         "change per hour after settling). Within goal: targets that settled within the goal; p95: of "
         "the settle times; last healthy: the latest second after its first snapshot at which a target "
         "of the rate read healthy (\"-\": none did); misses: each target that missed its goal, its status at the goal and "
         "the evidence it had by then (failed/all probes of its completion · stream kinds; at 1 %: the first "
         "status besides healthy and unknown it read, and the whole run)"), "",
        "| p | expected | within goal | settle median (s) | p95 (s) | max (s) | last healthy (s) | changes | target-hours | changes / h | final statuses | misses: status and evidence at the goal |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in result["rates"]:
        per_hour, median, worst, finals = settle.cells(r)
        reached = sorted(s for s in r["settle_s"] if s is not None)
        p95 = "-" if not reached else f"{reached[max(0, -(-len(reached) * 95 // 100) - 1)]:.0f}"
        lines.append(f"| {r['p']:.0%} | {r['expected']} | {within_goal(r)} of {r['targets']} | {median} | "
                     f"{p95} | {worst} | {settle.healthy_cell(r)} | {r['changes']} | {r['target_hours']:.1f} | {per_hour:.2f} | {finals} | "
                     f"{', '.join(r['missed']) or '-'} |")
    return lines


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = measure(Path(tmp), per_rate=int(sys.argv[1]) if len(sys.argv) > 1 else 10,
                      minutes=float(sys.argv[2]) if len(sys.argv) > 2 else 5.0)
        print("\n".join(section(res)))
