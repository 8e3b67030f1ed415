"""The compose stack for real: `deploy/docker-compose.yml` with the demo config, built and started
as `make up` does, until the aggregator has judged `demo-down` unhealthy, read the way
`llmhealth status` reads it (clickhouse/queries/latest_status.sql) as the read-only user `reader`.

Needs a Docker engine with the compose plugin; skipped with the reason when there is none.
Builds the llmhealth image and pulls ClickHouse, the collector and Grafana: minutes, not seconds.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.containers

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DEADLINE_S = 600


def _unavailable() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        return (f"no Docker engine available ({type(exc).__name__}); the compose stack runs "
                "where Docker does")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        return "the Docker engine answers but `docker compose` (the compose v2 plugin) is missing"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env_file(directory: Path) -> tuple[Path, dict[str, str]]:
    """deploy/.env.example with generated passwords (as `make up` writes it) and free ports."""
    values: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value or secrets.token_hex(16)
    for key in values:
        if key.endswith("_PORT"):
            values[key] = str(_free_port())
    path = directory / "compose.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path, values


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    from testcontainers.compose import DockerCompose

    env_file, values = _env_file(tmp_path_factory.mktemp("compose"))
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPOSE_PROJECT_NAME", f"llmhealth-test-{uuid.uuid4().hex[:8]}")
    compose = DockerCompose(DEPLOY, compose_file_name="docker-compose.yml", env_file=str(env_file),
                            build=True, wait=False)
    try:
        compose.start()
        yield values
    finally:
        stdout, stderr = compose.get_logs()
        print(stdout[-20000:], stderr[-5000:])  # shown by pytest when the test failed
        compose.stop()
        mp.undo()


def _latest(values: dict[str, str]) -> list[dict]:
    sql = (REPO / "clickhouse" / "queries" / "latest_status.sql").read_text(encoding="utf-8")
    response = httpx.post(f"http://127.0.0.1:{values['LLMHEALTH_CLICKHOUSE_HTTP_PORT']}/",
                          params={"database": "llmhealth"}, content=sql + "\nFORMAT JSONEachRow",
                          auth=("reader", values["LLMHEALTH_READER_PASSWORD"]), timeout=10)
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line]


@pytest.mark.timeout(DEADLINE_S + 900)
def test_the_demo_stack_finds_the_down_model(stack: dict[str, str]) -> None:
    deadline, rows, error = time.monotonic() + DEADLINE_S, [], None
    while time.monotonic() < deadline:
        try:
            rows = _latest(stack)
            error = None
        except httpx.HTTPError as exc:  # the server or the tables are not there yet
            error = exc
        statuses = {r["target"]: r["status"] for r in rows}
        if statuses.get("demo-down") == "unhealthy":
            break
        time.sleep(5)
    assert {r["target"]: r["status"] for r in rows}.get("demo-down") == "unhealthy", (rows, error)
    assert {r["target"]: r["status"] for r in rows}.get("demo-healthy") in {"healthy", "unknown"}


def test_the_reader_cannot_write(stack: dict[str, str]) -> None:
    response = httpx.post(f"http://127.0.0.1:{stack['LLMHEALTH_CLICKHOUSE_HTTP_PORT']}/",
                          content="INSERT INTO llmhealth.health_events (target) VALUES ('x')",
                          auth=("reader", stack["LLMHEALTH_READER_PASSWORD"]), timeout=10)
    refusal = response.text.lower()
    assert response.status_code != 200 and ("readonly" in refusal or "not enough privileges" in refusal)


def test_grafana_is_up_with_its_admin_password(stack: dict[str, str]) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{stack['LLMHEALTH_GRAFANA_PORT']}"
                                 "/api/datasources/uid/llmhealth-clickhouse",
                                 auth=("admin", stack["LLMHEALTH_GRAFANA_ADMIN_PASSWORD"]), timeout=10)
            if response.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "Grafana did not serve the provisioned data source"
        time.sleep(5)
    assert response.json()["type"] == "grafana-clickhouse-datasource"
