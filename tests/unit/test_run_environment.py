"""What each child of `llmhealth run` finds in its environment (llmhealth/run/environment.py),
and that the prober's configuration is the one the supervisor dumped for it; the demo
adds its application."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmhealth.run import demo, environment, rotel
from llmhealth.run.children import Child
from llmhealth.run.demo import with_demo_targets
from llmhealth.run.pipeline import _children
from llmhealth_config import load_config
from llmhealth_config.target import Target

SUPERVISOR = {
    "PATH": "/usr/bin", "HOME": "/home/op", "LANG": "C.UTF-8", "LC_TIME": "de_DE.UTF-8",
    "PYTHONPATH": "/src", "VIRTUAL_ENV": "/venv",
    "OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant", "AWS_SECRET_ACCESS_KEY": "aws",
    "LLMHEALTH_STORE__HTTP_PORT": "1", "ROTEL_DAEMON": "true",
    "HTTPS_PROXY": "http://proxy:3128", "no_proxy": "localhost", "OTEL_RESOURCE_ATTRIBUTES": "a=b",
}


def _target(name: str, key: str | None) -> Target:
    return Target.model_validate({"name": name, "base_url": "http://127.0.0.1:9/v1", "model": "m",
                                  "api_key_env": key})


def test_common_is_the_allowlist_only() -> None:
    assert environment.common(SUPERVISOR) == {
        "PATH": "/usr/bin", "HOME": "/home/op", "LANG": "C.UTF-8", "LC_TIME": "de_DE.UTF-8",
        "PYTHONPATH": "/src", "VIRTUAL_ENV": "/venv"}


@pytest.mark.parametrize(("keys", "expected"), [
    pytest.param([None], set(), id="no-key-named"),
    pytest.param(["OPENAI_API_KEY"], {"OPENAI_API_KEY"}, id="one-key"),
    pytest.param(["OPENAI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"],
                 {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}, id="shared-key"),
    pytest.param(["UNSET_KEY"], set(), id="named-but-unset"),
])
def test_prober_gets_the_keys_its_targets_name(keys: list[str | None], expected: set[str]) -> None:
    targets = [_target(f"t{i}", key) for i, key in enumerate(keys)]
    assert environment.prober(SUPERVISOR, targets) == {
        "HTTPS_PROXY": "http://proxy:3128", "no_proxy": "localhost",
        "OTEL_RESOURCE_ATTRIBUTES": "a=b", **{key: SUPERVISOR[key] for key in expected}}


def test_child_keeps_its_explicit_env_over_the_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("ROTEL_DAEMON", "true")
    child = Child("rotel", ["rotel-agent", "start"], {"ROTEL_CLICKHOUSE_EXPORTER_PASSWORD": "p",
                                                      "PATH": "/explicit"})
    assert child.env == {**environment.common(os.environ),
                         "ROTEL_CLICKHOUSE_EXPORTER_PASSWORD": "p", "PATH": "/explicit"}


def test_rotel_runs_in_the_foreground() -> None:
    """`rotel-agent start --daemon` forks twice and leaves the supervisor: never asked for."""
    argv, env = rotel.command(grpc_port=1, http_port=2, store_url="http://127.0.0.1:3",
                              database="d", user="default", password="p", batch_timeout_s=0.5)
    assert argv[1:] == ["start"] and "ROTEL_DAEMON" not in env
    assert not any(value == "p" for value in argv)  # the password only in the environment


def test_prober_uses_the_config_dumped_for_it(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag beats an `LLMHEALTH_…` variable in the supervisor; the prober, which reloads the
    dumped config, must not see the variable either."""
    monkeypatch.setenv("LLMHEALTH_COLLECTOR__GRPC_PORT", "1")
    monkeypatch.setenv("LLMHEALTH_PROBER__EXPORT_INTERVAL", "7")
    config = with_demo_targets(load_config(None, {"collector": {"grpc_port": 4999},
                                                  "store": {"data_dir": str(tmp_path)}}))
    assert config.prober.export_interval == 7  # the variable without a flag applies, once
    prober = next(c for c in _children(config, tmp_path, demo=True, store_password="p")
                  if c.name == "prober")
    dumped = tmp_path / "config.yaml"
    assert load_config(dumped) != config  # read with the supervisor's environment, it would differ
    for name in set(os.environ) - set(prober.env):
        monkeypatch.delenv(name)
    assert load_config(dumped) == config


def test_demo_application_sends_to_the_simulator_and_exports_to_the_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's children end with the demo application, which sees nothing of the
    supervisor's environment but the allowlist; without the `demo` extra there is none."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    config = with_demo_targets(load_config(None, {"collector": {"grpc_port": 4999},
                                                  "simulator": {"port": 8999},
                                                  "store": {"data_dir": str(tmp_path)}}))
    children = _children(config, tmp_path, demo=True, store_password="p")
    app = children[-1]
    assert app.name == "demo-app"
    assert app.argv[1:3] == ["-m", "simulator.traffic"]
    assert app.argv[app.argv.index("--otlp") + 1] == "http://127.0.0.1:4999"
    routes = [app.argv[i + 1] for i, arg in enumerate(app.argv) if arg == "--route"]
    assert routes == [f"{m}@http://127.0.0.1:8999/v1" for m in ("demo-healthy", "demo-flaky",
                                                               "demo-coinflip")]
    assert "OPENAI_API_KEY" not in app.env
    assert [c.name for c in _children(config, tmp_path, demo=False, store_password="p")] == \
        ["rotel", "prober"]
    monkeypatch.setattr(demo, "DEMO_APP_MODULES", ("openai", "no_such_module.instrumentation"))
    assert [c.name for c in _children(config, tmp_path, demo=True, store_password="p")] == \
        ["simulator", "rotel", "prober"]
