"""`GET /api/health/overview` on an embedded store: a minute of synthetic probe results (a
healthy target, one failing with 5xx, one rate limited, all in one pool) plus single failed
minutes of the healthy target 3 hours, 2, 10 and 40 days back, evaluated by a real worker and
served over HTTP. The sparkline reads the minute rollup, availability the minute, hour and day
rollups (and equals health_slo's where both exist), the strip the status transitions; three
queries, at most once per 30 s whoever asks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.evaluate import Evaluator
from aggregator.metrics_state import MetricsState
from aggregator.store.embedded import EmbeddedStore
from aggregator.worker import Worker
from llmhealth_config.model import Config
from tests.conftest import migrated_store
from tests.embedded.synthetic import T0, instant, latency_point, points, probe_points

pytestmark = pytest.mark.embedded

TARGET = {"base_url": "http://127.0.0.1:9/v1", "model": "m1", "probes": ["completion"]}
CONFIG = Config.model_validate({
    "targets": [{"name": "good", "pool": "chat", **TARGET},
                {"name": "down", "pool": "chat", **TARGET},
                {"name": "limited", "pool": "chat", **TARGET},
                {"name": "idle", **TARGET}],
    "aggregator": {"interval": "2s"}})
LAST = 60  # the instant the worker evaluates: a minute's first, so it writes the SLO rows
NOW = instant(LAST + 1)
FAILED_BEFORE = (timedelta(hours=3), timedelta(days=2), timedelta(days=10), timedelta(days=40))


def _fill(store: EmbeddedStore) -> None:
    """Probes every 2 s for a minute from T0: `good` answers in 0.5 s, `down` fails with
    http_5xx, `limited` with http_429; `idle` never probes. `good` also failed one minute at
    each of FAILED_BEFORE. Instants up to LAST - 2 are evaluated here."""
    rows = []
    for s in range(1, LAST, 2):
        at = instant(s)
        rows += probe_points("good", at, "ok") + probe_points("down", at, "http_5xx")
        rows += probe_points("limited", at, "http_429") + [latency_point("good", at, {0.5: 1})]
    for ago in FAILED_BEFORE:
        rows += probe_points("good", T0 - ago, "http_5xx")
    points(store, rows)
    evaluator = Evaluator(store, CONFIG)
    for s in range(LAST - 10, LAST, 2):
        evaluator.evaluate(instant(s))


@pytest.fixture(scope="module")
def store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    with migrated_store(engine_dir) as db:
        yield db


class Counting:
    """`store` whose `rows` calls are counted."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store, self.queries = store, 0

    def rows(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.queries += 1
        return self.store.rows(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture(scope="module")
def served(store: EmbeddedStore) -> Iterator[tuple[ApiState, Counting, httpx.Client]]:
    _fill(store)
    counting = Counting(store)
    worker = Worker(store, CONFIG)
    health = ApiState(counting, CONFIG, clock=NOW.timestamp)  # type: ignore[arg-type]
    health.attach(worker)
    health.start()
    app = create_app(metrics=MetricsState(store, CONFIG), health=health)
    api = ApiServer(app, "127.0.0.1", 0)
    api.start()
    try:
        worker.run_once(now=instant(LAST).timestamp() + 0.3)
        deadline = time.monotonic() + 20
        while health.view.instant != instant(LAST):
            assert time.monotonic() - deadline < 0, "the state was not refreshed"
            time.sleep(0.02)
        with httpx.Client(base_url=api.url, timeout=30) as client:
            yield health, counting, client
    finally:
        api.stop()
        health.stop()


def test_the_overview_reads_the_rollups_and_transitions(
        served: tuple[ApiState, Counting, httpx.Client]) -> None:
    health, counting, client = served
    before = counting.queries
    answer = client.get("/api/health/overview").json()
    assert counting.queries - before == 3
    targets = {s["name"]: s for s in answer["targets"]}
    pools = {s["name"]: s for s in answer["pools"]}
    assert sorted(targets) == ["down", "good", "idle", "limited"] and list(pools) == ["chat"]
    assert answer["sparkline_start"] == _iso(NOW.replace(second=0) - timedelta(minutes=59))
    assert answer["strip_start"] == _iso(T0 - timedelta(minutes=15 * 95))

    good, down, idle, chat = targets["good"], targets["down"], targets["idle"], pools["chat"]
    # the minute from T0 is the 59th of the hour ending in NOW's minute; NOW's has no result yet
    assert good["latency_p50_s"][58] == pytest.approx(0.5, rel=0.02)
    assert good["latency_p90_s"][58] == pytest.approx(0.5, rel=0.02)
    assert good["latency_p50_s"][:58] == [None] * 58 and good["latency_p50_s"][59] is None
    assert chat["latency_p50_s"][58] == pytest.approx(0.5, rel=0.02)  # the members together
    assert down["latency_p50_s"] == [None] * 60 and len(idle["latency_p90_s"]) == 60

    # the minute from T0 is available; each longer window holds one failed minute more
    assert good["availability"] == pytest.approx({"24h": 1 / 2, "7d": 1 / 3, "30d": 1 / 4,
                                                  "90d": 1 / 5})
    assert down["availability"] == {"24h": 0.0, "7d": 0.0, "30d": 0.0, "90d": 0.0}
    # the pool's minutes: some member answered, but `good`'s old failures were alone in theirs
    assert chat["availability"] == good["availability"]
    assert targets["limited"]["availability"] == dict.fromkeys(("24h", "7d", "30d", "90d"))
    for name in ("good", "down"):  # the same count as health_slo
        slo = health.view.targets[name].availability
        assert slo is not None
        assert {w: slo.by_time[w] for w in ("24h", "7d", "30d")} == pytest.approx(
            {w: targets[name]["availability"][w] for w in ("24h", "7d", "30d")})

    assert (good["strip"][-1], down["strip"][-1], chat["strip"][-1]) == (
        "healthy", "unhealthy", "degraded")
    assert down["strip"][:-1] == [None] * 95  # no status before the first evaluation
    assert idle["strip"] == [None] * 96  # unknown from the start: no transition yet


def test_the_overview_is_read_once_per_30_s(served: tuple[ApiState, Counting, httpx.Client]) -> None:
    _, counting, client = served
    client.get("/api/health/overview")
    before = counting.queries
    answers = [client.get("/api/health/overview").json() for _ in range(5)]
    assert counting.queries == before
    assert len({a["computed_at"] for a in answers}) == 1


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
