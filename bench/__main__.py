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
from bench import aggregation, ingest
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
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
