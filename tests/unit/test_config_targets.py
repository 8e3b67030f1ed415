"""Target validation (`llmhealth_config.target`): one invalid fixture per cross-field rule,
each with its exact message, and the per-protocol defaults of valid targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmhealth_config import ConfigError, Target, load_config
from llmhealth_config.target import HttpCheck

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


@pytest.mark.parametrize(("fixture", "message"), [
    pytest.param("invalid-probe-kind-for-protocol.yaml", "invalid-probe-kind-for-protocol.yaml:2: "
                 "targets[0]: probe kind 'http' is not available for protocol 'openai' (available: "
                 "models, completion, stream, context)", id="probe-kind-for-protocol"),
    pytest.param("invalid-probe-kind.yaml", "invalid-probe-kind.yaml:5: targets[0].probes[0]: Input "
                 "should be 'models', 'completion', 'stream', 'http' or 'context'", id="probe-kind"),
    pytest.param("invalid-pool-name.yaml", "invalid-pool-name.yaml:2: targets[0].pool: pool 'b' is "
                 "also the name of the target at line 3; pools and targets share one namespace",
                 id="pool-name"),
    pytest.param("invalid-status-window.yaml", "invalid-status-window.yaml:1: aggregator: window "
                 "(120 s, the status window) must be one of windows (60, 300, 3600 s)",
                 id="status-window"),
    pytest.param("invalid-azure-api-version.yaml", "invalid-azure-api-version.yaml:2: targets[0]: "
                 "api_version is required for protocol 'azure', e.g. 2024-10-21",
                 id="azure-api-version"),
    pytest.param("invalid-discover-protocol.yaml", "invalid-discover-protocol.yaml:2: targets[0]: "
                 "discover is only available for protocols ollama and lmstudio, not 'openai'",
                 id="discover-protocol"),
    pytest.param("invalid-discover-with-model.yaml", "invalid-discover-with-model.yaml:2: "
                 "targets[0]: model must be left out when discover is true: every installed model "
                 "becomes a target", id="discover-with-model"),
    pytest.param("invalid-check-protocol.yaml", "invalid-check-protocol.yaml:2: targets[0]: check "
                 "is only available for protocol 'http'", id="check-protocol"),
    pytest.param("invalid-reasoning-protocol.yaml", "invalid-reasoning-protocol.yaml:2: targets[0]: "
                 "reasoning and reasoning_effort apply to protocols openai and azure only",
                 id="reasoning-protocol"),
    pytest.param("invalid-max-output-tokens.yaml", "invalid-max-output-tokens.yaml:5: "
                 "targets[0].max_output_tokens: Input should be less than or equal to 4096",
                 id="max-output-tokens-range"),
    pytest.param("invalid-max-output-tokens-protocol.yaml", "invalid-max-output-tokens-protocol.yaml"
                 ":2: targets[0]: max_output_tokens applies to the chat probes (completion, "
                 "stream), not to protocol 'http'", id="max-output-tokens-protocol"),
    pytest.param("invalid-head-body-condition.yaml", "invalid-head-body-condition.yaml:5: "
                 "targets[0].check: a HEAD response has no body: use method GET with "
                 "body_contains or json_path", id="head-body-condition"),
    pytest.param("invalid-json-equals-without-path.yaml", "invalid-json-equals-without-path.yaml:5: "
                 "targets[0].check: json_equals needs json_path (the dotted key to compare)",
                 id="json-equals-without-path"),
    pytest.param("invalid-expect-status.yaml", "invalid-expect-status.yaml:6: "
                 "targets[0].check.expect_status[1]: Input should be less than or equal to 599",
                 id="expect-status"),
])
def test_invalid_target_names_file_line_and_key(fixture: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / fixture)
    assert str(info.value) == f"{FIXTURES}/{message}"


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    return {t.name: t for t in load_config(FIXTURES / "valid-targets.yaml").targets}


def test_http_target_defaults(targets: dict[str, Target]) -> None:
    target = targets["litellm"]
    assert (target.model, target.kinds, target.provider) == (None, ["http"], "http")
    assert target.check is None and target.http_check == HttpCheck()
    assert (target.http_check.method, target.http_check.expect_status) == ("GET", [200])


@pytest.mark.parametrize(("name", "check"), [
    pytest.param("vllm", HttpCheck(method="HEAD", expect_status=[200, 503]), id="head-503"),
    pytest.param("portkey", HttpCheck(json_path="status.ready", json_equals=True), id="bool"),
    pytest.param("quoted", HttpCheck(json_path="code", json_equals="1"), id="quoted-number"),
])
def test_http_check_keeps_yaml_types(targets: dict[str, Target], name: str, check: HttpCheck) -> None:
    # json_equals is compared with JSON types, so YAML `true` must stay a bool, "1" a string.
    assert targets[name].check == check
    assert type(targets[name].http_check.json_equals) is type(check.json_equals)


def test_discover_target_defaults_and_discovered_model(targets: dict[str, Target]) -> None:
    endpoint = targets["local"]
    assert endpoint.kinds == ["models", "completion", "stream"]
    assert (endpoint.model, endpoint.provider) == (None, "ollama")
    found = endpoint.discovered("llama3.2:1b")
    assert (found.name, found.model, found.discover) == ("local/llama3.2:1b", "llama3.2:1b", False)
    assert (found.protocol, found.base_url, found.kinds) == (
        "ollama", "http://localhost:11434", ["models", "completion", "stream"])


def test_reasoning_target_keeps_its_probe_settings(targets: dict[str, Target]) -> None:
    target = targets["azure-o3"]
    assert (target.reasoning, target.reasoning_effort, target.max_output_tokens) == (True, "low", 64)
    assert targets["litellm"].max_output_tokens is None
