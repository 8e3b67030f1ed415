"""`make bench`: run the benchmarks in one process and write BENCHMARKS.md."""

from __future__ import annotations

import platform
import shlex
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import chdb
import psutil

from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from bench import aggregation, ingest, prober
from llmhealth.config.model import RetentionSettings

OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def _fresh(engine_dir: Path) -> EmbeddedStore:
    store = EmbeddedStore(engine_dir, f"bench_{uuid.uuid4().hex[:8]}")
    migrate(store, RetentionSettings())
    return store


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{platform.system()} {platform.release()}, {psutil.cpu_count()} cores ({cpu}), "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
            f"chDB {chdb.__version__} (engine {chdb.engine_version})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Path(tmp) / "chdb"
        print("ingest: rotel -> embedded endpoint (20 s) …", flush=True)
        ing = ingest.measure(_fresh(engine), Path(tmp))
        cycles = []
        for targets in (10, 100, 1000):
            print(f"aggregation cycle: {targets} targets …", flush=True)
            cycles.append(aggregation.measure(_fresh(engine), targets))
        probers = []
        for kinds in (("completion",), ("completion", "stream")):
            print(f"prober: 1,000 targets every 5 s, kinds {', '.join(kinds)} (70 s) …", flush=True)
            probers.append(prober.measure(Path(tmp), probes=kinds))
    small = cycles[0]["median_ms"]
    lines = [
        "# Benchmarks", "",
        f"Command: `{shlex.join(['make', 'bench'])}` (runs `{shlex.join([Path(sys.executable).name, '-m', 'bench'])}`)  ",
        f"Machine: {_machine()}  ",
        (f"Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. All numbers below come from this one run; "
        "the machine is shared and noisy, so read ratios and scaling rather than absolutes."), "",
        "## Ingest: rows/s from rotel into the embedded store (RowBinary over HTTP)", "",
        (f"A load process exports {ing['series']:,} counter series every second over OTLP/gRPC to rotel, which "
        "inserts them with `INSERT … FORMAT RowBinary` into the embedded endpoint (chDB streaming insert)."), "",
        "| rows/s ingested | CPU of the store process (cores) | share in endpoint (HTTP, event loop) | share in chDB |",
        "|---:|---:|---:|---:|",
        f"| {ing['rows_per_s']:,.0f} | {ing['process_cpu_cores']:.2f} | {ing['endpoint_share']:.1%} | {ing['chdb_share']:.1%} |",
        "", ("The offered load is bounded by the load generator (Python OTel SDK) and rotel sharing the same "
        "2 cores; the endpoint share shows how little of the store process the HTTP layer costs."), "",
        "## One aggregation cycle (evaluate_snapshots.sql + record_events.sql)", "",
        ("5 minutes of data per target as the prober writes it (an export every 2 s: outcomes counter, "
        "latency and TTFT exponential histograms). Median of 7 cycles."), "",
        "| targets | raw rows in window | median ms | max ms | × the 10-target time |",
        "|---:|---:|---:|---:|---:|",
    ]
    for c in cycles:
        lines.append(f"| {c['targets']:,} | {c['raw_rows']:,} | {c['median_ms']:.1f} | {c['max_ms']:.1f} | "
                     f"{c['median_ms'] / small:.1f} |")
    lines += _prober_section(probers)
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


def _prober_section(runs: list[dict]) -> list[str]:
    lines = [
        "", "## One prober process: 1,000 targets every 5 s against the simulator", "",
        ("`llmhealth probe` and `llmhealth simulate` run as separate processes; the prober exports to an "
         "in-process OTLP receiver (`bench/otlp_sink.py`). Jitter is the prober's own "
         "`llmhealth.prober.schedule_delay`: how late each probe started against its planned instant. "
         f"Measured over {runs[0]['seconds']:.0f} s after a 10 s warm-up. "
         "Goal: ≤ 1 core, ≤ 200 MB, jitter p99 ≤ 200 ms."), "",
        "| probe kinds | probes/s (planned) | ok | CPU (cores) | peak RSS (MB) | jitter p50 (ms) | jitter p99 (ms) | jitter max (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {', '.join(r['probes'])} | {r['probes_per_s']:.0f} ({r['expected_per_s']:.0f}) | "
            f"{r['ok_share']:.1%} | {r['cpu_cores']:.2f} | {r['peak_rss_mb']:.0f} | "
            f"{r['jitter_p50_ms']:.1f} | {r['jitter_p99_ms']:.0f} | {r['jitter_max_ms']:.0f} |")
    lines += ["", ("A row whose finished probes/s fall short of the planned rate is a saturated process: "
                   "probing, recording and the OTLP export share one Python interpreter lock, so a "
                   "process tops out near one core whatever the machine has. Run more prober "
                   "processes, each with a share of the targets, past that rate.")]
    return lines


if __name__ == "__main__":
    main()
