"""How `llmhealth run` starts rotel, the OpenTelemetry collector, as a child process."""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import rotel

SETTINGS_FILE: Traversable = files("llmhealth_otel_collector").joinpath("rotel.env")


def binary() -> Path:
    """The rotel-agent executable shipped inside the pinned `rotel` wheel."""
    path = Path(rotel.__file__).resolve().parent / "rotel-agent"
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"rotel-agent not found or not executable at {path}; "
                                "reinstall with `make install`")
    return path


def read_env_file(path: Traversable) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped."""
    env = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.startswith("ROTEL_"):
            raise ValueError(f"{path}:{number}: expected ROTEL_NAME=value")
        env[key.strip()] = value.strip()
    return env


def command(*, grpc_port: int, http_port: int, store_url: str, database: str, user: str,
            password: str, batch_timeout_s: float) -> tuple[list[str], dict[str, str]]:
    """The argv and the environment additions that start rotel for this run; the store's
    credentials go in the environment, never on the command line (visible to every user).
    rotel runs in the foreground (no pid file) and logs to its stdout, which the supervisor
    copies into the run log."""
    env = read_env_file(SETTINGS_FILE)
    env.update({
        "ROTEL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}",
        "ROTEL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http_port}",
        "ROTEL_CLICKHOUSE_EXPORTER_ENDPOINT": store_url,
        "ROTEL_CLICKHOUSE_EXPORTER_DATABASE": database,
        "ROTEL_CLICKHOUSE_EXPORTER_USER": user,
        "ROTEL_CLICKHOUSE_EXPORTER_PASSWORD": password,
        "ROTEL_BATCH_TIMEOUT": f"{int(batch_timeout_s * 1000)}ms",
    })
    return [str(binary()), "start"], env
