"""Heavy reads beside the monitor: people's ad-hoc queries against the embedded store must not
slow the aggregator's evaluations, the collector's inserts or the CLI.

Twenty healthy targets run through `llmhealth run` at default settings (`bench.pipeline`).
After a warm-up, three phases of the same length: nothing else (baseline), one heavy ad-hoc
query of user `reader` (about 30 s on an idle machine), then two at once (every session of the
reader lane busy). Throughout, as user default every 0.5 s: the evaluation lag (now minus the
newest evaluated instant), the storage lag (now minus the newest stored probe point) and the
time a `SELECT 1` takes. Afterwards: the `unknown` snapshots written over the phases, and the
aggregator's warnings that an evaluation took longer than `aggregator.interval`.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx

from bench.pipeline import HEALTHY, Pipeline, pipeline

TARGETS = 20
INTERVAL_S = 2.0  # aggregator.interval (default)
HEAVY_SQL = "SELECT sum(cityHash64(number)) FROM numbers({n:UInt64})"
LAG_SQL = """SELECT dateDiff('millisecond', (SELECT max(evaluated_at) FROM health_snapshots
                                             WHERE evaluated_at > now() - INTERVAL 5 MINUTE), now64(3)) AS eval_ms,
                    dateDiff('millisecond', (SELECT max(inserted_at) FROM health_points
                                             WHERE inserted_at > now() - INTERVAL 5 MINUTE), now64(3)) AS store_ms"""


def _reader(pipe: Pipeline) -> httpx.Client:
    return httpx.Client(base_url=pipe.url, auth=("reader", pipe.auth[1]), timeout=300)


def _heavy(client: httpx.Client, rows: int, out: list[dict]) -> None:
    started = time.monotonic()
    response = client.post("/", params={"param_n": str(rows)}, content=HEAVY_SQL.encode())
    out.append({"seconds": time.monotonic() - started, "status": response.status_code,
                "error": "" if response.status_code == 200 else response.text[:200]})


def _calibrate(client: httpx.Client, seconds: float) -> int:
    """Rows of HEAVY_SQL that take about `seconds` on one core (the reader's max_threads)."""
    rows = 20_000_000
    while True:  # grow the sample until it runs long enough to time
        started = time.monotonic()
        client.post("/", params={"param_n": str(rows)}, content=HEAVY_SQL.encode()).raise_for_status()
        elapsed = time.monotonic() - started
        if elapsed >= 2.0:
            return int(rows * seconds / elapsed)
        rows *= 4


def _sample(pipe: Pipeline, until: float) -> list[dict]:
    samples = []
    while time.monotonic() < until:
        started = time.monotonic()
        row = pipe.query(LAG_SQL)[0]
        samples.append({"eval_s": row["eval_ms"] / 1000, "store_s": row["store_ms"] / 1000,
                        "query_s": time.monotonic() - started})
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    return samples


def _phase(pipe: Pipeline, name: str, heavy: int, rows: int, seconds: float) -> dict:
    results: list[dict] = []
    threads = []
    with _reader(pipe) as client:
        threads = [threading.Thread(target=_heavy, args=(client, rows, results)) for _ in range(heavy)]
        started_wall, started = time.time(), time.monotonic()
        for thread in threads:
            thread.start()
        samples = _sample(pipe, started + seconds)
        for thread in threads:
            thread.join()
        samples += _sample(pipe, time.monotonic() + 2 * INTERVAL_S)  # the instants just after
    return {"name": name, "heavy": heavy, "from": started_wall, "to": time.time(),
            "samples": samples, "queries": results}


def _unknown(pipe: Pipeline, start: float, end: float) -> int:
    rows = pipe.query("""SELECT count() AS n FROM health_snapshots FINAL
                         WHERE kind = 'target' AND status = 'unknown'
                           AND evaluated_at BETWEEN toDateTime64({a:Float64}, 3) AND toDateTime64({b:Float64}, 3)""",
                      {"a": start, "b": end})
    return int(rows[0]["n"])


def measure(work: Path, seconds: float = 30.0, warmup: float = 40.0, log=print) -> dict:
    names = [f"iso-{i:02d}" for i in range(TARGETS)]
    with pipeline(work, dict.fromkeys(names, HEALTHY)) as pipe:
        deadline = time.monotonic() + warmup + 60
        while set(pipe.statuses().values()) != {"healthy"} or len(pipe.statuses()) < TARGETS:
            pipe.alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"targets not all healthy after warm-up: {pipe.statuses()}")
            time.sleep(1)
        time.sleep(max(0.0, warmup - 30))
        with _reader(pipe) as client:
            rows = _calibrate(client, seconds)
        log(f"  heavy query: {rows:,} rows (about {seconds:g} s on one core when idle)")
        phases = [_phase(pipe, name, heavy, rows, seconds) for name, heavy in
                  (("baseline", 0), ("one heavy read", 1), ("two heavy reads", 2))]
        for phase in phases:
            phase["unknown"] = _unknown(pipe, phase["from"], phase["to"])
        pipe.alive()
        run_log = pipe.log.read_text()
    return {"targets": TARGETS, "seconds": seconds, "rows": rows, "phases": phases,
            "pace_warnings": run_log.count("longer than aggregator.interval")}


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), max(values)


def section(result: dict) -> list[str]:
    lines = [
        "## Heavy reads beside the monitor", "",
        (f"{result['targets']} healthy targets through `llmhealth run` at default settings "
         f"(aggregator.interval {INTERVAL_S:g} s). Each phase lasts {result['seconds']:g} s: no other "
         "load, then one and two heavy ad-hoc queries of user `reader` "
         f"(`{HEAVY_SQL}`, n = {result['rows']:,}: about {result['seconds']:g} s on one core when idle; "
         "the reader lane's default limits: 1 thread, 2 queries at once). Sampled every 0.5 s as user "
         "default: evaluation lag (now − newest evaluated instant; on pace while below two intervals), "
         "storage lag (now − newest stored probe point) and a small query's round trip. Goal: "
         "evaluations on pace and no `unknown` snapshot while the reads run."), "",
        ("| phase | heavy queries (s each) | evaluation lag p50 / max (s) | storage lag p50 / max (s) | "
         "small query p50 / max (ms) | `unknown` snapshots | goal |"),
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for phase in result["phases"]:
        evals = _stats([s["eval_s"] for s in phase["samples"]])
        stored = _stats([s["store_s"] for s in phase["samples"]])
        small = _stats([s["query_s"] * 1000 for s in phase["samples"]])
        queries = ", ".join(f"{q['seconds']:.1f}" + ("" if q["status"] == 200 else f" ({q['status']})")
                            for q in phase["queries"]) or "none"
        met = evals[1] < 2 * INTERVAL_S and phase["unknown"] == 0
        lines.append(f"| {phase['name']} | {queries} | {evals[0]:.2f} / {evals[1]:.2f} | "
                     f"{stored[0]:.2f} / {stored[1]:.2f} | {small[0]:.0f} / {small[1]:.0f} | "
                     f"{phase['unknown']} | {'met' if met else '**not met**'} |")
    lines += ["", (f"Warnings of an evaluation longer than aggregator.interval in the run's log: "
                   f"{result['pace_warnings']}.")]
    errors = [q["error"] for p in result["phases"] for q in p["queries"] if q["error"]]
    if errors:
        lines += ["", "Heavy queries that failed:", ""] + [f"- {e}" for e in errors]
    return lines


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(section(measure(Path(tmp)))))
