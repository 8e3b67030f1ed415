"""`llmhealth history` and `llmhealth status` against real data: an embedded store with a minute
of probes (`good` answers; `down` answers, then fails with 5xx from second 47), its last
20 s evaluated instant by instant, the aggregator's API served in-process on an ephemeral port (its state
refreshed by a real worker), and the store's ClickHouse HTTP endpoint for the status read that
falls back to SQL when no API answers."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.evaluate import Evaluator
from aggregator.metrics_state import MetricsState
from aggregator.store.embedded import EmbeddedStore
from aggregator.worker import Worker
from llmhealth.cli import app
from llmhealth.cli.history_view import render_history
from llmhealth_config.model import Config, StoreSettings
from tests.conftest import migrated_store
from tests.embedded.conftest import PASSWORD, serve
from tests.embedded.synthetic import instant, points, probe_points

pytestmark = pytest.mark.embedded

CONFIG = Config.model_validate({
    "targets": [{"name": n, "base_url": "http://127.0.0.1:9/v1", "model": "m1", "pool": "chat",
                 "probes": ["completion"]} for n in ("good", "down")],
    "aggregator": {"interval": "2s"}})
LAST = 60
FAILS_FROM = 47
FIRST_EVALUATED = 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LLMHEALTH_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    with migrated_store(engine_dir) as db:
        rows = []
        for s in range(1, LAST, 2):
            rows += probe_points("good", instant(s), "ok")
            rows += probe_points("down", instant(s), "ok" if s < FAILS_FROM else "http_5xx")
        points(db, rows)
        evaluator = Evaluator(db, CONFIG)
        for s in range(FIRST_EVALUATED, LAST, 2):
            evaluator.evaluate(instant(s))
        yield db


@pytest.fixture(scope="module")
def api(store: EmbeddedStore) -> Iterator[str]:
    """The API's URL, its state refreshed once the worker evaluated instant LAST."""
    worker = Worker(store, CONFIG)
    metrics = MetricsState(store, CONFIG)
    health = ApiState(store, CONFIG, clock=instant(LAST + 1).timestamp)
    metrics.attach(worker)
    health.attach(worker)
    health.start()
    server = ApiServer(create_app(metrics=metrics, health=health), "127.0.0.1", 0)
    server.start()
    try:
        worker.run_once(now=instant(LAST).timestamp() + 0.3)
        deadline = time.monotonic() + 20
        while health.view.instant != instant(LAST):
            assert time.monotonic() < deadline, "the state was not refreshed"
            time.sleep(0.02)
        yield server.url
    finally:
        server.stop()
        health.stop()


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_history_shows_the_strip_the_time_in_each_status_and_the_transitions(api: str) -> None:
    code, out, err = cli("history", "down", "--range", "1h", "--api-url", api)
    assert (code, err) == (0, "")
    title, now, strip, axis, spent, *rest = out.splitlines()
    assert title.startswith("down (target) · last 1h · one cell per 20 s · from snapshots")
    assert now.startswith("now unhealthy since ") and "circuit breaker open" in now
    assert len(strip) == 180 and set(strip) == {"·", "█"}  # 1 h in 20 s cells, 220 columns
    assert strip.endswith("██") and strip.startswith("···")  # data in the last minute only
    assert len(axis) == len(strip) and axis.endswith(f"{instant(LAST + 1):%H:%M:%S} UTC")
    assert spent == "█ unhealthy 9 s (43 %)   █ healthy 12 s (57 %)   · no data"
    assert rest[1].startswith("transitions (UTC), oldest first")
    events = [line.split("  ") for line in rest[4:] if line.strip()]
    assert [[cell.strip() for cell in e if cell.strip()] for e in events] == [
        [f"{instant(40):%Y-%m-%d %H:%M:%S}", "status", "new → healthy",
         "completion: error rate 0.0% over 5m (20 probes)"],
        [f"{instant(52):%Y-%m-%d %H:%M:%S}", "status", "healthy → unhealthy",
         "completion: circuit breaker open: 3 consecutive failures (last: http_5xx)"],
        [f"{instant(52):%Y-%m-%d %H:%M:%S}", "completion breaker", "closed → open",
         "3 consecutive failures (last: http_5xx)"],
        [f"{instant(58):%Y-%m-%d %H:%M:%S}", "completion breaker", "open → half_open",
         "cooldown of 5 s over; 3 consecutive failures (last: http_5xx)"],
        [f"{instant(60):%Y-%m-%d %H:%M:%S}", "completion breaker", "half_open → open",
         "probe failed while half-open (http_5xx)"]]


def test_history_colours_the_strip_by_status(api: str) -> None:
    code, out, _ = cli("history", "down", "--range", "1h", "--api-url", api, "--json")
    assert code == 0
    answer = json.loads(out)
    console = Console(record=True, width=100, color_system="truecolor", force_terminal=True)
    console.print(render_history(answer, 100))
    lines = console.export_text(styles=True, clear=False).splitlines()
    strip = next(line for line in lines if "·" in line and "█" in line)
    # the last 40 s cell had both statuses: the worst (red) shows; healthy is green
    assert strip.endswith("\x1b[2m·\x1b[0m\x1b[1;31m█\x1b[0m")
    assert "\x1b[32m█\x1b[0m healthy 12 s" in "\n".join(lines)
    assert console.export_text().splitlines()[0] == (
        "down (target) · last 1h · one cell per 40 s · from snapshots")


def test_history_of_a_pool_and_of_a_longer_range(api: str) -> None:
    code, out, _ = cli("history", "chat", "--api-url", api)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "chat (pool) · last 24h · one cell per 10 m · from minutes"
    assert lines[1].startswith("now degraded since ")
    assert len(lines[2]) == 144 and lines[2].endswith("█")  # 288 steps of 5 m, two a cell


def test_an_unknown_target_lists_the_known_ones(api: str) -> None:
    code, out, err = cli("history", "nope", "--api-url", api)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: 'nope': unknown target; known targets: chat, down, good"]


def test_without_an_api_one_line_says_what_to_start(tmp_path: Path) -> None:
    port = closed_port()
    config = tmp_path / "c.yaml"
    config.write_text(f"aggregator: {{http_port: {port}}}\n")
    code, _, err = cli("history", "down", "--config", str(config))
    assert code == 1
    (line,) = err.splitlines()
    assert line == (f"error: no API answers at http://127.0.0.1:{port} (connection refused): the "
                    "history comes from the aggregator's HTTP API; start `llmhealth run` or "
                    "`llmhealth aggregator` (it listens on aggregator.http_host/http_port), or "
                    "pass --api-url")


def test_status_reads_the_api_else_the_store(api: str, store: EmbeddedStore, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("status", "--json", "--api-url", api)
    assert code == 0
    from_api = {r["target"]: r["status"] for r in json.loads(out)}
    assert from_api == {"good": "healthy", "down": "unhealthy", "chat": "degraded"}
    for url in serve(store, StoreSettings()):
        config = tmp_path / "c.yaml"
        config.write_text(f"aggregator: {{http_port: {closed_port()}}}\n"
                          f"store: {{http_port: {url.rsplit(':', 1)[1]}, "
                          f"database: {store.database}}}\n")
        monkeypatch.setenv("LLMHEALTH_STORE_PASSWORD", PASSWORD)
        code, out, err = cli("status", "--json", "--config", str(config))
        assert (code, err) == (0, "")
        from_store = json.loads(out)
        assert {r["target"]: r["status"] for r in from_store} == from_api
        assert {r["evaluated_at"][:19] for r in from_store} == {f"{instant(LAST):%Y-%m-%dT%H:%M:%S}"}
