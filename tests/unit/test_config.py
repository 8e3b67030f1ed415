"""Config loading: one invalid fixture per rule, each with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmhealth_config import ConfigError, load_config

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
    pytest.param("invalid-duplicate-target.yaml", "invalid-duplicate-target.yaml:5: targets[1].name: "
                 "target name 'a' is used twice (first at line 2); names must be unique",
                 id="duplicate-target"),
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
    pytest.param("invalid-target-threshold-override.yaml", "invalid-target-threshold-override.yaml:5: "
                 "targets[0].thresholds: the override conflicts with the global thresholds: "
                 "degraded_error_rate (0.8) must not exceed unhealthy_error_rate (0.5)",
                 id="target-threshold-override"),
    pytest.param("invalid-missing-model.yaml", "invalid-missing-model.yaml:2: targets[0]: model is "
                 "required for protocol 'openai' (or set discover: true on an ollama or lmstudio "
                 "target)", id="missing-model"),
    pytest.param("invalid-duplicate-key.yaml", "invalid-duplicate-key.yaml:7: duplicate key "
                 "'targets[0].thresholds.latency_p99' (first at line 6): a key may appear once per "
                 f"mapping\n{FIXTURES}/invalid-duplicate-key.yaml:8: duplicate key 'targets[0].model' "
                 "(first at line 4): a key may appear once per mapping\n"
                 f"{FIXTURES}/invalid-duplicate-key.yaml:11: duplicate key 'prober' (first at line 9): "
                 "a key may appear once per mapping", id="duplicate-key-at-every-level"),
    pytest.param("invalid-encoding.yaml", "invalid-encoding.yaml:4:15: not UTF-8 text (invalid byte "
                 "0xff): save the file as UTF-8", id="not-utf8"),
    pytest.param("invalid-control-character.yaml", "invalid-control-character.yaml:4:13: invalid "
                 "YAML: unprintable character #x0000 is not allowed: remove it",
                 id="control-character"),
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


def test_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    # `<<` merges a mapping whose keys the target then sets again: not a duplicate key.
    path = tmp_path / "merge.yaml"
    path.write_text("targets:\n"
                    "  - &base {name: a, base_url: 'http://x/v1', model: m, timeout: 3s}\n"
                    "  - <<: *base\n"
                    "    name: b\n"
                    "    model: n\n")
    first, second = load_config(path).targets
    assert (second.name, second.model, second.timeout) == ("b", "n", 3.0)
    assert (first.name, first.model) == ("a", "m")
