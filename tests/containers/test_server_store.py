"""The same migrations and queries on a real ClickHouse server, through clickhouse-driver.

Needs a Docker engine (testcontainers); skipped with the reason when none answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from aggregator.evaluate import evaluate
from aggregator.migrate import migrate
from aggregator.store.server import ServerStore
from llmhealth_config.model import Config, RetentionSettings
from tests.embedded import synthetic

pytestmark = pytest.mark.containers
IMAGE = "clickhouse/clickhouse-server:25.10.2.65"  # >= 25.10, pinned


def _docker_available() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        return f"no Docker engine available ({type(exc).__name__}); the server path runs where Docker does"
    return None


@pytest.fixture(scope="module")
def server_store() -> Iterator[ServerStore]:
    reason = _docker_available()
    if reason:
        pytest.skip(reason)
    from testcontainers.clickhouse import ClickHouseContainer

    with ClickHouseContainer(IMAGE, username="llmhealth", password="test-password") as container:
        store = ServerStore(container.get_container_host_ip(),
                            int(container.get_exposed_port(9000)), "llmhealth", "test-password",
                            "llmhealth", where="the test container", password_hint="test")
        yield store
        store.close()


def test_migrations_apply_twice(server_store: ServerStore) -> None:
    migrate(server_store, RetentionSettings())
    assert migrate(server_store, RetentionSettings()) == []
    tables = {r["name"] for r in server_store.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase()")}
    assert {"otel_metrics_sum", "otel_metrics_exponential_histogram", "health_points", "health_minutes",
            "health_hours", "health_days", "health_snapshots", "health_windows", "health_events",
            "health_slo", "health_targets", "health_latest", "health_timeline", "health_incidents",
            "schema_migrations"} <= tables


def test_evaluation_matches_embedded_rules(server_store: ServerStore) -> None:
    """The same SQL on a ClickHouse server: raw OTLP rows through the materialized views,
    three failed probes in a row open the breaker, latency quantiles from the histogram."""
    migrate(server_store, RetentionSettings())
    now = datetime.now(UTC)
    config = Config.model_validate({"targets": [{"name": "srv", "base_url": "http://x/v1", "model": "m"}]})
    synthetic.outcomes(server_store, "srv", now, {"ok": 40})
    synthetic.histogram(server_store, "srv", now, np.full(40, 0.2))
    evaluate(server_store, config, _passed_instant())
    for _ in range(3):
        synthetic.outcomes(server_store, "srv", datetime.now(UTC), {"http_5xx": 1})
        time.sleep(0.01)
    second = _passed_instant()
    evaluate(server_store, config, second)
    evaluate(server_store, config, second)
    rows = server_store.rows("SELECT status, breaker, reason, latency_p50_s FROM health_snapshots FINAL "
                             "WHERE target = 'srv' ORDER BY evaluated_at")
    assert [r["status"] for r in rows] == ["healthy", "unhealthy"]
    assert rows[1]["reason"] == "circuit breaker open: 3 consecutive failures (last: http_5xx)"
    assert abs(rows[0]["latency_p50_s"] - 0.2) / 0.2 < 0.011


def _passed_instant() -> datetime:
    """An instant after every row written so far, once it has passed (evaluations read the
    rows stored by their instant)."""
    at = time.time() + 0.05
    time.sleep(0.1)
    return datetime.fromtimestamp(at, UTC)
