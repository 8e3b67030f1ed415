"""Applications' requests end to end: the official `openai` client under the official
`opentelemetry-instrumentation-openai-v2` (simulator.traffic, real child processes) sends real
requests to the simulator over HTTP and exports OTLP to a real collector (rotel, under
`llmhealth run`) into the embedded store; the aggregator matches and judges them.

One pipeline, two applications: `app-latest` (current conventions: gen_ai.provider.name, run for
a fixed time) and `app-legacy` (older conventions: gen_ai.system). Targets:
  t-healthy   probed, model `shared`: app-latest's requests to it count exactly; those it sends
              for the same model to a dead port (another server) count nowhere
  t-slow      probed, model `slowish` (1.5 s answers, probes healthy): app-latest times out
              after 0.5 s on every request, a sustained failure that must settle and hold
  t-429       passive only, model `app-429`: every request is a 429 -> rate_limited
  t-app-only  passive only, model `app-only` (gen_ai.system traffic): healthy, then failing
              (flipped through the simulator's /_sim routes), then healthy again
"""

from __future__ import annotations

import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
import yaml

from harness.instrumented import running_app
from harness.pipeline import query, running_pipeline
from harness.ports import free_ports
from simulator.behavior import ModelBehavior
from simulator.server import running

pytestmark = [pytest.mark.embedded, pytest.mark.long]

MODELS = {"shared": ModelBehavior(), "slowish": ModelBehavior(latency_p50=1.5, latency_p99=2.0),
          "app-429": ModelBehavior(error_rate=1.0, error_kind="http_429"),
          "app-only": ModelBehavior()}
LATEST_RUN_S = 40


def _status(pipeline: dict, target: str) -> dict:
    """The target's latest snapshot ({} while the store does not answer yet)."""
    try:
        rows = _latest(pipeline, target)
    except httpx.HTTPError:
        return {}
    return rows[0] if rows else {}


def _latest(pipeline: dict, target: str) -> list[dict]:
    return query(pipeline, """SELECT status, reason, passive_requests, passive_errors,
                                     toString(evaluated_at) AS at
                              FROM health_snapshots WHERE target = {t:String}
                              ORDER BY evaluated_at DESC LIMIT 1""", {"t": target})


def _wait_status(pipeline: dict, target: str, status: str, within_s: float) -> dict:
    deadline = time.monotonic() + within_s
    while (row := _status(pipeline, target)).get("status") != status:
        assert pipeline["process"].poll() is None, pipeline["log"].read_text()[-3000:]
        assert time.monotonic() < deadline, (target, status, row)
        time.sleep(0.25)  # a snapshot every 2 s: find it within a quarter of a second
    return row


def test_applications_requests_are_matched_counted_and_judged(tmp_path: Path) -> None:
    [dead_port] = free_ports(1)
    with running(MODELS) as sim:
        settings = {
            "targets": [
                {"name": "t-healthy", "base_url": sim, "model": "shared", "probes": ["completion"]},
                {"name": "t-slow", "base_url": sim, "model": "slowish", "probes": ["completion"],
                 "thresholds": {"latency_p99": "30s"}},
                {"name": "t-429", "base_url": sim, "model": "app-429", "probes": []},
                {"name": "t-app-only", "base_url": sim, "model": "app-only", "probes": []}],
            "thresholds": {"min_requests": 10},
            "aggregator": {"window": 20, "windows": [20, 60, 3600]}}
        with running_pipeline(tmp_path, settings) as pipeline:
            grpc = yaml.safe_load(pipeline["config"].read_text())["collector"]["grpc_port"]
            otlp = f"http://127.0.0.1:{grpc}"
            dead = f"http://127.0.0.1:{dead_port}/v1"
            routes = [f"shared@{sim}", f"shared@{dead}", f"slowish@{sim}", f"app-429@{sim}"]
            with running_app(tmp_path, routes, otlp, service="app-latest", rate=3, timeout=0.5,
                             duration=LATEST_RUN_S) as latest, \
                    running_app(tmp_path, [f"app-only@{sim}"], otlp, service="app-legacy",
                                latest=False, rate=5) as legacy:
                _wait_status(pipeline, "t-app-only", "healthy", 60)
                control = sim.removesuffix("/v1") + "/_sim/models/app-only"
                httpx.put(control, json={"error_rate": 1.0}, timeout=5).raise_for_status()
                failing = _wait_status(pipeline, "t-app-only", "unhealthy", 30)
                assert failing["reason"].startswith("app requests: error rate"), failing
                httpx.put(control, json={}, timeout=5).raise_for_status()
                _wait_status(pipeline, "t-app-only", "healthy", 40)
                limited = _wait_status(pipeline, "t-429", "rate_limited", 10)
                assert "rate limited" in limited["reason"], limited
                legacy_sent = legacy["counts"]()
                sent = latest["counts"]()
            time.sleep(3)  # the last export, the collector's batch, one evaluation
            _check_exact_short_window(pipeline, sent, sim)
            _check_sustained_failures_settle(pipeline)
            _check_other_server_counts_nowhere(pipeline, sent, dead)
            assert legacy_sent[(f"app-only@{sim}", "ok")] > 0
            _check_every_minute_counted(pipeline, sent, legacy_sent, sim)
            _check_api_and_status(pipeline, sent, sim, dead)


def _check_exact_short_window(pipeline: dict, sent: dict, sim: str) -> None:
    """app-latest ran for 40 s: its requests to t-healthy all lie in the 60 s window."""
    row = query(pipeline, """SELECT passive_requests, passive_errors FROM health_windows
                             WHERE target = 't-healthy' AND probe_kind = 'passive'
                               AND window_seconds = 60
                             ORDER BY evaluated_at DESC LIMIT 1""")[0]
    assert row == {"passive_requests": sent[(f"shared@{sim}", "ok")], "passive_errors": 0}


def _check_sustained_failures_settle(pipeline: dict) -> None:
    """Every request of app-latest to t-slow timed out while its probes succeeded: once
    unhealthy, it stays unhealthy (no status change after settling)."""
    rows = query(pipeline, """SELECT status, reason FROM health_snapshots FINAL
                              WHERE target = 't-slow' ORDER BY evaluated_at""")
    first = next(i for i, r in enumerate(rows) if r["status"] == "unhealthy")
    statuses = [r["status"] for r in rows[first:]]
    changes = sum(1 for a, b in pairwise(statuses) if a != b)
    # held for at least 20 s; at most one change: when app-latest stopped and its timeouts left
    # the 20 s window
    assert statuses[:10] == ["unhealthy"] * 10 and changes <= 1, statuses
    assert "APITimeoutError" not in rows[first]["reason"]  # mapped onto the taxonomy
    assert "completion: healthy" in rows[first]["reason"], rows[first]


def _check_other_server_counts_nowhere(pipeline: dict, sent: dict, dead: str) -> None:
    assert sent[(f"shared@{dead}", "APIConnectionError")] > 0
    counted = query(pipeline, """SELECT max(passive_errors) AS e FROM health_windows
                                 WHERE target = 't-healthy' AND probe_kind = 'passive'""")
    assert counted == [{"e": 0}]


def _check_every_minute_counted(pipeline: dict, sent: dict, legacy_sent: dict, sim: str) -> None:
    """Once the minutes of the run are complete, health_passive counts each application's
    requests exactly (gen_ai.system traffic too), and the 1 h window as well."""
    deadline = time.monotonic() + 75
    expected = {"t-healthy": sent[(f"shared@{sim}", "ok")],
                "t-app-only": sum(n for (route, _), n in legacy_sent.items())}
    while True:
        rows = query(pipeline, """SELECT target, sum(requests) AS n FROM health_passive FINAL
                                  WHERE unit = 'minute' AND target IN ('t-healthy', 't-app-only')
                                  GROUP BY target""")
        hour = query(pipeline, """SELECT target, passive_requests AS n FROM health_windows
                                  WHERE window_seconds = 3600 AND probe_kind = 'passive'
                                    AND target IN ('t-healthy', 't-app-only')
                                  ORDER BY evaluated_at DESC LIMIT 1 BY target""")
        minutes = {r["target"]: r["n"] for r in rows}
        if minutes == expected and {r["target"]: r["n"] for r in hour} == expected:
            break
        assert time.monotonic() < deadline, (minutes, hour, expected)
        time.sleep(0.5)
    unmatched = query(pipeline, "SELECT server, requests, candidates FROM health_passive_unmatched")
    assert any(r["server"].endswith(f":{sent_port(sent)}") for r in unmatched), unmatched


def sent_port(sent: dict) -> str:
    """The dead port app-latest sent to (its route that only failed to connect)."""
    [route] = {r for (r, outcome) in sent if outcome == "APIConnectionError"}
    return route.rsplit(":", 1)[1].split("/")[0]


def _check_api_and_status(pipeline: dict, sent: dict, sim: str, dead: str) -> None:
    """The API carries the applications' latency and their availability as users saw it beside
    the probes', and the requests no target claimed; `llmhealth status` says how many."""
    deadline = time.monotonic() + 75
    while True:
        detailed = httpx.get(f"{pipeline['api']}api/health/detailed", timeout=5).json()
        targets = {t["target"]: t for t in detailed["targets"]}
        healthy, slow = targets["t-healthy"], targets["t-slow"]
        by_apps = {name: (t["availability"] or {}).get("by_applications", {}).get("1h")
                   for name, t in targets.items()}
        if (by_apps["t-healthy"] is not None and by_apps["t-slow"] is not None
                and detailed["unmatched"]["requests_1h"] >= sent[(f"shared@{dead}", "APIConnectionError")]):
            break
        assert time.monotonic() < deadline, (by_apps, detailed["unmatched"])
        time.sleep(0.5)
    # every request of app-latest to t-healthy succeeded, every one to t-slow timed out
    assert (by_apps["t-healthy"], by_apps["t-slow"]) == (1.0, 0.0)
    assert healthy["availability"]["application_requests"]["1h"] == sent[(f"shared@{sim}", "ok")]
    assert healthy["availability"]["by_time"]["1h"] == 1.0  # the probes' own, apart
    assert detailed["unmatched"]["errors_1h"] == detailed["unmatched"]["requests_1h"]
    # the applications' latency (of their successful requests) beside the probes': in the
    # snapshots while app-latest ran (0.5 s of the simulator's default answers at most), none
    # for t-slow, whose requests all timed out
    [apps] = query(pipeline, """SELECT max(passive_latency_p50_s) AS p50, max(latency_p50_s) AS probes
                                FROM health_snapshots WHERE target = 't-healthy'""")
    assert 0 < apps["p50"] < 0.5 and apps["probes"] is not None, apps
    assert slow["passive_latency_s"]["p50"] is None
    config = ["--config", str(pipeline["config"])]
    shown = subprocess.run([sys.executable, "-m", "llmhealth", "status", *config, "--api-url",
                            pipeline["api"].rstrip("/")], check=False, capture_output=True, text=True,
                           timeout=60, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})
    assert shown.returncode == 0, shown.stderr
    assert "application requests in the last hour matched no target" in " ".join(shown.stdout.split())
