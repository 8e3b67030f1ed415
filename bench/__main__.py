"""`make bench`: run the benchmarks in one process and write BENCHMARKS.md.

`python -m bench` runs all of them (about 3 h: 60 min of false-alarm soak, 50 of settling, 30 of
applications' failures, 3 of the status rules replayed);
`--only detection,aggregation` runs some and replaces only their sections in BENCHMARKS.md;
`--short` shortens every one (for trying the benchmarks out, not for the record);
`--soak-minutes` sets the soak's length. Every child process runs on ephemeral ports with its
data in a temporary directory and is stopped (its whole process tree) when its benchmark ends.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import chdb
import psutil

from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from bench import (
    aggregation,
    aggregation_report,
    api,
    detection,
    detection_report,
    ingest,
    isolation,
    page,
    passive_hold,
    prober,
    settle,
    settle_replay,
    soak,
)
from llmhealth_config.model import RetentionSettings

OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
BENCHES = ("ingest", "aggregation", "prober", "detection", "settle", "replay", "passive", "soak",
           "isolation", "api", "page")
HEADINGS = {  # the heading each benchmark's section starts with (older titles it replaces)
    "ingest": ("## Ingest",),
    "aggregation": ("## Evaluation cycle time", "## One aggregation cycle"),
    "prober": ("## One prober process",),
    "detection": ("## End-to-end detection",),
    "settle": ("## Settle, then hold",),
    "replay": ("## The status rules replayed",),
    "passive": ("## Passive: sustained application failures",),
    "soak": ("## False alarms",),
    "isolation": ("## Heavy reads beside the monitor",),
    "api": ("## The HTTP API under load",),
    "page": ("## The status page",),
}


def _fresh(engine_dir: Path) -> EmbeddedStore:
    store = EmbeddedStore(engine_dir, f"bench_{uuid.uuid4().hex[:8]}")
    migrate(store, RetentionSettings())
    return store


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{platform.system()} {platform.release()}, {psutil.cpu_count()} cores ({cpu}), "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
            f"chDB {chdb.__version__} (engine {chdb.engine_version})")


def _code() -> str:
    """The commit measured, and whether the working tree differed from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "aggregator", "bench", "clickhouse", "prober",
                                "llmhealth", "simulator"], cwd=root, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}" + (" with uncommitted changes" if dirty else "")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES),
                        help=f"comma-separated benchmarks to run (default: all of {', '.join(BENCHES)})")
    parser.add_argument("--short", action="store_true",
                        help="shorter runs of everything: fewer targets and samples, a 3-minute soak")
    parser.add_argument("--soak-minutes", type=float, default=None,
                        help="length of the false-alarm soak (default 60, 3 with --short)")
    parser.add_argument("--out", type=Path, default=OUT, help="the Markdown file to write (default BENCHMARKS.md)")
    args = parser.parse_args(argv)
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in args.only if b not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHES)})")
    if args.soak_minutes is None:
        args.soak_minutes = 3.0 if args.short else 60.0
    return args


def run(args: argparse.Namespace, tmp: Path) -> dict[str, list[str]]:
    """Run the chosen benchmarks; their sections by benchmark name."""
    short = args.short
    engine = tmp / "chdb"
    sections: dict[str, list[str]] = {}

    def step(name: str, text: str, body: Callable[[], list[str]]) -> None:
        if name in args.only:
            started, load, code = datetime.now(UTC), _load(), _code()
            print(f"{text} (load {load}) …", flush=True)
            lines = body()
            ended = datetime.now(UTC)
            sections[name] = [*lines, "", (
                f"*Measured {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC by `{args.command}`, code {code}, "
                f"load average {load} at the start and {_load()} at the end.*")]
            print(f"  done in {(ended - started).total_seconds():.0f} s", flush=True)

    step("ingest", "ingest: rotel -> embedded endpoint",
         lambda: _ingest_section(ingest.measure(_fresh(engine), tmp, seconds=10.0 if short else 20.0)))

    def cycle_time() -> list[str]:
        sizes = (1, 100, 1_000) if short else (1, 100, 1_000, 10_000)
        results = []
        for targets in sizes:
            store = aggregation.fresh_store(engine, f"cycle_{targets}_{uuid.uuid4().hex[:6]}")
            results += aggregation.measure(store, targets)
            store.execute_in_default("DROP DATABASE {db:Identifier}", {"db": store.database})
        store = aggregation.fresh_store(engine, f"history_{uuid.uuid4().hex[:6]}")
        history = aggregation.measure_history(store, targets=1_000, hours=1.0 if short else 12.0)
        store.execute_in_default("DROP DATABASE {db:Identifier}", {"db": store.database})
        return aggregation_report.section(results, history)

    step("aggregation", "evaluation cycle time: 100, 1,000" + ("" if short else ", 10,000") + " targets", cycle_time)

    def probers() -> list[str]:
        runs = [prober.measure(tmp, probes=kinds, seconds=20.0 if short else 60.0)
                for kinds in (("completion",), ("completion", "stream"))]
        return _prober_section(runs)

    step("prober", "prober: 1,000 targets every 5 s", probers)
    step("detection", "end-to-end detection: 20 targets per failure mode through `llmhealth run`",
         lambda: detection_report.section(detection.measure(
             tmp / "detection", per_mode=5 if short else 20,
             long_outages=(60.0,) if short else (120.0, 600.0), slow=3 if short else 10)))
    step("settle", "settle, then hold: 4 targets per error rate (1 % to 100 %)",
         lambda: settle.section(settle.measure(tmp / "settle", per_rate=2 if short else 4,
                                               minutes=3.0 if short else 50.0)))
    step("replay", f"the status rules replayed: {10 if short else 60} targets per error rate",
         lambda: settle_replay.section(settle_replay.measure(engine, per_rate=10 if short else 60,
                                                             minutes=5.0 if short else 10.0)))
    step("passive", "passive: sustained application failures with healthy probes, 3 targets per group",
         lambda: passive_hold.section(passive_hold.measure(tmp / "passive", per_group=2 if short else 3,
                                                           minutes=4.0 if short else 30.0)))
    step("soak", f"false alarms: 20 targets with 1 % errors for {args.soak_minutes:g} min",
         lambda: soak.section(soak.measure(tmp / "soak", targets=20, minutes=args.soak_minutes), 60.0))
    step("isolation", "heavy reads beside the monitor: 20 targets, 30 s ad-hoc queries as user reader",
         lambda: isolation.section(isolation.measure(tmp / "isolation", seconds=15.0 if short else 30.0)))
    step("api", "the HTTP API under load: wrk with 100 connections",
         lambda: api.section(api.measure(tmp / "api", seconds=5.0 if short else 10.0)))
    step("page", "the status page's load time: headless Chromium, 2 x 20 loads",
         lambda: page.section(page.measure(tmp / "page")))
    return sections


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    args.command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    started, code = datetime.now(UTC), _code()
    with tempfile.TemporaryDirectory() as tmp:
        sections = run(args, Path(tmp))
    full = set(args.only) == set(BENCHES) and not args.short and args.soak_minutes >= 60
    if full:
        run_line = (f"Run: {started:%Y-%m-%d %H:%M} UTC, code {code}. All numbers below come from this one "
                    "run (each section ends with when it was measured and the machine's load); the machine "
                    "is shared and noisy, so read ratios and scaling rather than absolutes.")
    else:
        run_line = (f"Sections measured by the last run (`{args.command}`, {started:%Y-%m-%d %H:%M} UTC): "
                    f"{', '.join(sections)}; the others are kept from earlier runs (each section ends with "
                    "when it was measured, on which code and at which load). The machine is shared and noisy, "
                    "so read ratios and scaling rather than absolutes.")
    header = ["# Benchmarks", "",
              ("Command: `make bench` (runs `python -m bench`; `python -m bench --help` for single benchmarks "
               "and shorter runs)  "),
              f"Machine: {_machine()}  ", run_line]
    kept = {} if full else _existing_sections(args.out)
    lines = header
    for name in BENCHES:
        body = sections.get(name) or kept.get(name)
        if body:
            lines += ["", *body]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


def _existing_sections(path: Path) -> dict[str, list[str]]:
    """The sections of an existing BENCHMARKS.md by benchmark name (by their headings)."""
    if not path.exists():
        return {}
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            name = next((n for n, heads in HEADINGS.items() if line.startswith(heads)), None)
            current = found.setdefault(name, []) if name else None
        if current is not None:
            current.append(line)
    for body in found.values():
        while body and not body[-1].strip():
            body.pop()
    return found


def _ingest_section(ing: dict) -> list[str]:
    return [
        "## Ingest: rows/s from rotel into the embedded store (RowBinary over HTTP)", "",
        (f"A load process exports {ing['series']:,} counter series every second over OTLP/gRPC to rotel, which "
         "inserts them with `INSERT … FORMAT RowBinary` into the embedded endpoint (chDB streaming insert)."), "",
        "| rows/s ingested | CPU of the store process (cores) | share in endpoint (HTTP, event loop) | share in chDB |",
        "|---:|---:|---:|---:|",
        f"| {ing['rows_per_s']:,.0f} | {ing['process_cpu_cores']:.2f} | {ing['endpoint_share']:.1%} | {ing['chdb_share']:.1%} |",
        "", ("The offered load is bounded by the load generator (Python OTel SDK) and rotel sharing the same "
             "2 cores; the endpoint share shows how little of the store process the HTTP layer costs."),
    ]


def _prober_section(runs: list[dict]) -> list[str]:
    lines = [
        "## One prober process: 1,000 targets every 5 s against the simulator", "",
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
