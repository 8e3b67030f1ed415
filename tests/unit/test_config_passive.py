"""The `passive:` selector and passive-only targets (`probes: []`) in the config: what is refused,
with which message, and what a valid selector keeps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llmhealth_config.model import Config

BASE = {"name": "chat", "base_url": "http://10.0.0.5:8000/v1", "model": "m1", "provider": "vllm"}


def config(**target: object) -> Config:
    return Config.model_validate({"targets": [{**BASE, **target}]})


def error(**target: object) -> str:
    with pytest.raises(ValidationError) as caught:
        config(**target)
    return caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(("target", "message"), [
    pytest.param({"probes": [], "passive": {"enabled": False}},
                 "probes: [] makes a passive-only target", id="passive-only-but-disabled"),
    pytest.param({"probes": [], "discover": True, "protocol": "ollama"},
                 "probes: [] makes a passive-only target", id="passive-only-discover"),
    pytest.param({"probes": [], "protocol": "http", "check": {"expect_status": [200]}},
                 "probes: [] makes a passive-only target", id="passive-only-http"),
    pytest.param({"passive": {"servers": ["http://api.openai.com"]}},
                 "invalid server 'http://api.openai.com': use host or host:port", id="server-url"),
    pytest.param({"passive": {"servers": ["api.openai.com:70000"]}},
                 "invalid server 'api.openai.com:70000'", id="server-port"),
    pytest.param({"passive": {"models": [""]}}, "String should have at least 1 character",
                 id="empty-model"),
    pytest.param({"passive": {"model": ["m1"]}}, "Extra inputs are not permitted",
                 id="misspelt-key"),
])
def test_refused_with_what_to_change(target: dict, message: str) -> None:
    assert message in error(**target)


def test_a_passive_only_target_runs_no_probe_kind() -> None:
    target = config(probes=[]).targets[0]
    assert target.kinds == [] and target.passive.enabled


def test_servers_are_kept_lower_cased_and_unset_parts_stay_unset() -> None:
    selector = config(passive={"servers": ["API.OpenAI.com", "[::1]:11434"],
                               "exclude_services": ["batch"]}).targets[0].passive
    assert selector.servers == ["api.openai.com", "[::1]:11434"]
    assert (selector.providers, selector.models, selector.services) == (None, None, None)
    assert selector.exclude_services == ["batch"]
