"""The same migrations and queries on a real ClickHouse server, through clickhouse-driver.

Needs a Docker engine (testcontainers); skipped with the reason when none answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from aggregator.evaluate import evaluate
from aggregator.migrate import migrate
from aggregator.store.server import ServerStore
from llmhealth.config.model import Config, RetentionSettings
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
                            "llmhealth")
        yield store
        store.close()


def test_migrations_apply_twice(server_store: ServerStore) -> None:
    migrate(server_store, RetentionSettings())
    assert migrate(server_store, RetentionSettings()) == []
    tables = {r["name"] for r in server_store.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase()")}
    assert {"otel_metrics_sum", "otel_metrics_exponential_histogram", "health_snapshots",
            "health_events", "health_latest", "schema_migrations"} <= tables


def test_evaluation_matches_embedded_rules(server_store: ServerStore) -> None:
    migrate(server_store, RetentionSettings())
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    synthetic.outcomes(server_store, "srv", at, {"ok": 40, "http_5xx": 60})
    synthetic.histogram(server_store, "srv", at, np.full(40, 0.2))
    config = Config.model_validate({"targets": [{"name": "srv", "base_url": "http://x/v1", "model": "m"}]})
    evaluate(server_store, config, at)
    evaluate(server_store, config, at)
    rows = server_store.rows("SELECT status, reason, latency_p50_s FROM health_snapshots FINAL "
                             "WHERE target = 'srv'")
    assert len(rows) == 1 and rows[0]["status"] == "unhealthy"
    assert rows[0]["reason"] == "error rate 60.0% >= 50.0% over 5m (60 of 100 failed: http_5xx x60)"
    assert abs(rows[0]["latency_p50_s"] - 0.2) < 0.004
