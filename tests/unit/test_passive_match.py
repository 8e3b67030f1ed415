"""Which target an application's request source counts for (aggregator/passive_match.py)."""

from __future__ import annotations

import pytest

from aggregator.passive_match import Match, Source, match
from llmhealth_config.model import Config

TARGETS = [
    {"name": "gw-a", "base_url": "http://gw-a.internal:4000/v1", "model": "gpt-4o",
     "provider": "litellm"},
    {"name": "gw-b", "base_url": "https://gw-b.example.com/v1", "model": "gpt-4o",
     "provider": "vllm"},
    {"name": "claude", "protocol": "anthropic", "base_url": "https://api.anthropic.com",
     "model": "claude-3-5-haiku"},
    {"name": "local", "protocol": "ollama", "base_url": "http://127.0.0.1:11434",
     "model": "llama3.2"},
    {"name": "solo", "base_url": "https://api.openai.com/v1", "model": "o3-mini",
     "passive": {"services": ["checkout"]}},
]


def source(provider: str = "openai", model: str = "gpt-4o", address: str = "",
           port: str = "", service: str = "app") -> Source:
    return Source(1, service, provider, model, address, port)


CASES = [
    pytest.param(source(address="gw-a.internal", port="4000"), Match("gw-a"),
                 id="server-and-port-decide"),
    pytest.param(source(address="gw-b.example.com"), Match("gw-b"),
                 id="port-443-left-out-by-the-instrumentation"),
    pytest.param(source(address="gw-b.example.com", port="8443"), Match(""),
                 id="another-port-of-the-server-counts-nowhere"),
    pytest.param(source(address="elsewhere", port="4000"), Match(""),
                 id="another-server-counts-nowhere"),
    pytest.param(source(), Match("", ("gw-a", "gw-b")),
                 id="no-server-two-candidates-counts-for-none"),
    pytest.param(source(provider="anthropic", model="claude-3-5-haiku"), Match("claude"),
                 id="no-server-one-candidate-counts-there"),
    pytest.param(source(model="llama3.2:latest", address="localhost", port="11434"), Match("local"),
                 id="ollama-through-the-openai-sdk-loopback-aliases-latest-tag"),
    pytest.param(source(provider="ollama", model="llama3.2", address="127.0.0.1", port="11434"),
                 Match("local"), id="ollama-native"),
    pytest.param(source(model="o3-mini", address="api.openai.com"), Match(""),
                 id="service-not-included"),
    pytest.param(source(model="o3-mini", address="api.openai.com", service="checkout"),
                 Match("solo"), id="service-included"),
    pytest.param(source(provider="cohere", address="gw-a.internal", port="4000"), Match(""),
                 id="provider-not-the-targets"),
]


@pytest.mark.parametrize(("src", "expected"), CASES)
def test_a_source_counts_for_one_target_at_most(src: Source, expected: Match) -> None:
    config = Config.model_validate({"targets": TARGETS})
    assert match([src], [(t.name, t) for t in config.targets]) == {1: expected}


def test_a_selector_with_servers_settles_a_source_without_server() -> None:
    targets = [*TARGETS[:2]]
    targets[1] = {**targets[1], "passive": {"servers": ["gw-b.example.com"]}}
    config = Config.model_validate({"targets": targets})
    assert match([source()], [(t.name, t) for t in config.targets]) == {1: Match("gw-a")}


def test_discovered_models_match_by_their_names() -> None:
    config = Config.model_validate({"targets": [
        {"name": "box", "protocol": "ollama", "base_url": "http://10.0.0.5:11434", "discover": True}]})
    endpoint = config.targets[0]
    evaluated = [("box", endpoint), ("box/qwen2.5:7b", endpoint)]
    src = source(provider="openai", model="qwen2.5:7b", address="10.0.0.5", port="11434")
    assert match([src], evaluated) == {1: Match("box/qwen2.5:7b")}


def test_a_disabled_selector_takes_nothing() -> None:
    config = Config.model_validate({"targets": [
        {**TARGETS[3], "passive": {"enabled": False}}]})
    src = source(provider="ollama", model="llama3.2", address="127.0.0.1", port="11434")
    assert match([src], [(t.name, t) for t in config.targets]) == {1: Match("")}
