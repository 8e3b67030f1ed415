"""The request a chat probe starts from (`prober.chat_shape`): per model family, as the table
in docs/configuration.md ("Reasoning models") documents it, and the target's overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmhealth_config.target import Target
from prober.chat_shape import FAMILIES, ChatShape, initial_shape

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def shape_of(**fields: object) -> ChatShape:
    fields = {"name": "t", "base_url": "https://api.openai.com/v1", **fields}
    return initial_shape(Target.model_validate(fields))


def reasoning(effort: str | None, least: int) -> ChatShape:
    return ChatShape("max_completion_tokens", least, temperature=False, effort=effort)


@pytest.mark.parametrize(
    ("fields", "shape"),
    [
        pytest.param({"model": "gpt-4o-mini"}, ChatShape(), id="not-reasoning"),
        pytest.param({"model": "o1-mini"}, reasoning(None, 16), id="o1-mini"),
        pytest.param({"model": "o1-preview-2024-09-12"}, reasoning(None, 16), id="o1-preview"),
        pytest.param({"model": "o1"}, reasoning("low", 16), id="o1"),
        pytest.param({"model": "o3-mini"}, reasoning("low", 16), id="o3-mini"),
        pytest.param({"model": "openai/o4-mini"}, reasoning("low", 16), id="router-prefix"),
        pytest.param({"model": "gpt-5"}, reasoning("minimal", 16), id="gpt-5"),
        pytest.param({"model": "gpt-5-nano"}, reasoning("minimal", 16), id="gpt-5-nano"),
        pytest.param({"model": "gpt-5.1"}, reasoning("none", 16), id="gpt-5.1"),
        pytest.param({"model": "gpt-5.2-mini"}, reasoning("none", 16), id="gpt-5.2-mini"),
        pytest.param({"model": "acme-r1", "reasoning": True}, reasoning("low", 1),
                     id="other-reasoning"),
        pytest.param({"model": "o3-mini", "reasoning": False}, ChatShape(), id="reasoning-false"),
        pytest.param({"model": "gpt-5.1", "reasoning_effort": "low", "max_output_tokens": 32},
                     reasoning("low", 32), id="overrides"),
        pytest.param({"model": "gpt-4o-mini", "max_output_tokens": 4}, ChatShape(least_tokens=4),
                     id="plain-least"),
        pytest.param({"protocol": "anthropic", "model": "claude-sonnet-4-5",
                      "base_url": "https://api.anthropic.com"}, ChatShape(), id="anthropic"),
        pytest.param({"protocol": "ollama", "model": "gpt-oss:20b", "max_output_tokens": 64,
                      "base_url": "http://127.0.0.1:11434"}, ChatShape(least_tokens=64),
                     id="ollama"),
    ],
)
def test_initial_shape(fields: dict[str, object], shape: ChatShape) -> None:
    assert shape_of(**fields) == shape


def test_budget_is_the_larger_of_the_probe_and_the_least() -> None:
    assert (ChatShape(least_tokens=16).budget(1), ChatShape(least_tokens=16).budget(32)) == (16, 32)


def test_documented_table_matches_the_families() -> None:
    section = DOCS.read_text().split("### Reasoning models", 1)[1]
    rows = re.findall(r"^\| (`[^|]+) \| ([^|]+) \| (\d+) \|", section, re.MULTILINE)
    documented = [(effort.strip().strip("`"), int(least)) for _, effort, least in rows]
    expected = [(family.effort or "not sent", family.least_tokens) for family in FAMILIES]
    assert documented[: len(FAMILIES)] == expected
