"""What a chat probe sends besides its prompt: the token limit's name and least value, the
temperature and the reasoning effort, per model family, and what a target has learned since.

A probe starts from `initial_shape` (the family defaults of the table below, overridden by
the target's `reasoning`, `reasoning_effort` and `max_output_tokens`); when the provider
refuses the request and says how to fix it (`prober.rejection`), the corrected shape is kept
in the target's `ShapeMemory`, so later probes send it from the start. Memory lives as long
as the prober process.

Sources of the family defaults (docs/configuration.md, "Reasoning models"):
https://platform.openai.com/docs/guides/reasoning (max_completion_tokens, reasoning_effort),
https://platform.openai.com/docs/api-reference/chat/create#chat_create-reasoning_effort
(gpt-5 accepts `minimal`; gpt-5.1 and later `none` and reject `minimal`,
https://github.com/anomalyco/opencode/issues/4451), o1-mini and o1-preview take no
`reasoning_effort` (https://github.com/chatboxai/chatbox/issues/1830), a one-token budget
that a reasoning model spends before it answers
(https://github.com/spiceai/spiceai/issues/7126, https://github.com/weave-os/router/pull/589)
and the Responses API's floor of 16 output tokens that gateways in front of these models
apply to chat requests too (https://github.com/vectorize-io/hindsight/issues/58,
https://github.com/QuantumNous/new-api/issues/2438).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmhealth_config.target import Target

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
"""Reasoning efforts from the smallest to the largest (OpenAI `ReasoningEffort`)."""

TOKEN_PARAMETERS = ("max_tokens", "max_completion_tokens")
"""The two spellings of the chat completion's token limit."""

REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
"""Model names (after the last `/`) that count as reasoning models when `reasoning` is unset."""


@dataclass(frozen=True)
class Family:
    """Defaults of one family of reasoning models, matched on the model name after the last
    `/`. `effort` None: no `reasoning_effort` is sent."""

    name: str
    pattern: re.Pattern[str]
    effort: str | None
    least_tokens: int


FAMILIES = (
    Family("o1-mini, o1-preview", re.compile(r"^o1-(mini|preview)"), None, 16),
    Family("o1, o3, o4-mini (o-series)", re.compile(r"^o\d"), "low", 16),
    Family("gpt-5.1 and later", re.compile(r"^gpt-5\.\d"), "none", 16),
    Family("gpt-5, gpt-5-mini, gpt-5-nano", re.compile(r"^gpt-5"), "minimal", 16),
)
"""Reasoning-model families, the first match wins. Other reasoning models (`reasoning: true`)
get effort `low` and no least budget."""

OTHER_REASONING_EFFORT = "low"


@dataclass(frozen=True)
class ChatShape:
    """The parts of a chat request a provider may refuse. `least_tokens` is the smallest
    token limit sent (a probe sends the larger of it and its own: 1 for `completion`,
    `prober.stream_max_tokens` for `stream`); `temperature` whether `temperature: 0` is sent;
    `effort` the `reasoning_effort` (None: left out); `stream_options` whether a stream asks
    for usage."""

    token_parameter: str = "max_tokens"
    least_tokens: int = 1
    temperature: bool = True
    effort: str | None = None
    stream_options: bool = True

    def budget(self, own: int) -> int:
        """The token limit of a probe whose own limit is `own`."""
        return max(own, self.least_tokens)


@dataclass
class ShapeMemory:
    """What one target's probes learned: the corrected shape (None: the initial one) and the
    operator advice already logged (each is logged once)."""

    shape: ChatShape | None = None
    logged: set[str] = field(default_factory=set)


def family_of(model: str | None) -> Family | None:
    """The reasoning family of `model` (the name after the last `/`), if any."""
    name = (model or "").rsplit("/", 1)[-1]
    return next((family for family in FAMILIES if family.pattern.match(name)), None)


def is_reasoning(target: Target) -> bool:
    """Whether the target is a reasoning model: `reasoning` when set, else by model name."""
    if target.reasoning is not None:
        return target.reasoning
    return bool(REASONING_MODEL.match((target.model or "").rsplit("/", 1)[-1]))


def initial_shape(target: Target) -> ChatShape:
    """The shape a target's first probe sends. Anthropic, Ollama and non-reasoning models:
    `max_tokens` and `temperature: 0`; reasoning models: `max_completion_tokens`, no
    temperature, the family's effort and least budget. `reasoning_effort` and
    `max_output_tokens` on the target override the family's."""
    configured = target.max_output_tokens
    if target.protocol in ("anthropic", "ollama") or not is_reasoning(target):
        return ChatShape(least_tokens=configured or 1)
    family = family_of(target.model)
    effort = family.effort if family else OTHER_REASONING_EFFORT
    least = family.least_tokens if family else 1
    return ChatShape(
        token_parameter="max_completion_tokens",
        least_tokens=configured or least,
        temperature=False,
        effort=target.reasoning_effort or effort,
    )
