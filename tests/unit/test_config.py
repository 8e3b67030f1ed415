"""Config loading: one invalid fixture per rule, each with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmhealth.config import ConfigError, load_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


@pytest.mark.parametrize(("fixture", "message"), [
    pytest.param("invalid-unknown-key.yaml",
                 "invalid-unknown-key.yaml:5: unknown key 'targets[0].tresholds' "
                 "(check the spelling; see docs/configuration.md)", id="unknown-key"),
    pytest.param("invalid-yaml.yaml", "invalid-yaml.yaml:3:4: invalid YAML: expected <block end>, "
                 "but found '<block mapping start>'", id="malformed-yaml"),
    pytest.param("invalid-base-url.yaml", "invalid-base-url.yaml:3: targets[0].base_url: must be an "
                 "http:// or https:// URL, e.g. https://api.openai.com/v1", id="base-url"),
    pytest.param("invalid-duration.yaml", "invalid-duration.yaml:2: prober.interval: invalid "
                 "duration '5 parsecs': use a number of seconds or e.g. 500ms, 10s, 5m, 1h", id="duration"),
    pytest.param("invalid-threshold-order.yaml", "invalid-threshold-order.yaml:1: thresholds: "
                 "degraded_error_rate (0.9) must not exceed unhealthy_error_rate (0.5)", id="threshold-order"),
    pytest.param("invalid-duplicate-target.yaml", "invalid-duplicate-target.yaml: (top level): target "
                 "name 'a' is used twice; names must be unique", id="duplicate-target"),
    pytest.param("invalid-api-key-literal.yaml", "invalid-api-key-literal.yaml:5: targets[0].api_key_env: "
                 "must be the NAME of an environment variable that holds the secret (e.g. "
                 "OPENAI_API_KEY), not the secret itself", id="api-key-literal"),
    pytest.param("invalid-protocol.yaml", "invalid-protocol.yaml:5: targets[0].protocol: Input should "
                 "be 'openai', 'azure', 'anthropic', 'ollama', 'lmstudio' or 'http'", id="protocol"),
    pytest.param("invalid-duplicate-probe.yaml", "invalid-duplicate-probe.yaml:2: targets[0]: probes "
                 "lists a kind twice: ['completion', 'completion']", id="duplicate-probe"),
    pytest.param("invalid-top-level.yaml", "invalid-top-level.yaml:1: the top level must be a mapping "
                 "of settings, not list", id="top-level"),
    pytest.param("invalid-port.yaml", "invalid-port.yaml:2: store.http_port: Input should be less "
                 "than or equal to 65535", id="port"),
    pytest.param("invalid-retention.yaml", "invalid-retention.yaml:2: retention.metrics_days: Input "
                 "should be greater than or equal to 1", id="retention"),
    pytest.param("invalid-target-threshold-override.yaml", "invalid-target-threshold-override.yaml: "
                 "(top level): target 'a': thresholds override conflicts with the global thresholds: "
                 "degraded_error_rate (0.8) must not exceed unhealthy_error_rate (0.5)",
                 id="target-threshold-override"),
    pytest.param("invalid-missing-model.yaml", "invalid-missing-model.yaml:2: targets[0]: model is "
                 "required for protocol 'openai' (or set discover: true on an ollama or lmstudio "
                 "target)", id="missing-model"),
])
def test_invalid_config_names_file_line_and_key(fixture: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / fixture)
    assert str(info.value) == f"{FIXTURES}/{message}"


def test_api_key_value_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / "invalid-api-key-literal.yaml")
    assert "sk-live-abc" not in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(FIXTURES / "no-such-file.yaml")


def test_valid_full_config_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_STORE__HTTP_PORT", "8124")
    monkeypatch.setenv("LLMHEALTH_AGGREGATOR__WINDOW", "10m")
    config = load_config(FIXTURES / "valid-full.yaml", {"aggregator": {"window": "1m"}})
    target = config.targets[0]
    assert config.store.http_port == 8124  # environment over file
    assert config.aggregator.window == 60.0  # flag over environment
    assert config.interval_for(target) == 30.0 and config.timeout_for(target) == 10.0
    assert config.thresholds_for(target).latency_p99 == 3.0  # per-target override
    assert config.thresholds_for(target).ttft_p99 == 2.0  # global value kept
    assert config.retention.events_days == 365


def test_unknown_environment_key_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_STORE__HTTP_PROT", "1")
    with pytest.raises(ConfigError, match="unknown key 'store.http_prot'"):
        load_config(None)
