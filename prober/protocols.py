"""The dispatcher's tables: which function probes a (protocol, kind) pair, and which lists a
local server's models for discovery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from llmhealth_config.target import Target
from prober import anthropic, http_check, lmstudio, ollama, openai
from prober.context import ProbeContext, ProbeFn
from prober.local_models import DiscoverFn

PROBES: dict[str, dict[str, ProbeFn]] = {
    "openai": openai.PROBES,
    "azure": openai.PROBES,
    "anthropic": anthropic.PROBES,
    "ollama": ollama.PROBES,
    "lmstudio": lmstudio.PROBES,
    "http": http_check.PROBES,
}

DISCOVERY: dict[str, DiscoverFn] = {
    "ollama": ollama.discover,
    "lmstudio": lmstudio.discover,
}

SERVER_VERSION: dict[str, Callable[[ProbeContext], Awaitable[str]]] = {
    "ollama": ollama.server_version,
}
"""Local servers that report their version: logged once when discovery first succeeds."""


def probe_for(target: Target, kind: str) -> ProbeFn:
    """The probe function of `kind` for the target's protocol; KeyError for a pair the config
    validation should have rejected."""
    return PROBES[target.protocol][kind]


def discover_for(target: Target) -> DiscoverFn:
    """The discovery function of the target's protocol (ollama, lmstudio)."""
    return DISCOVERY[target.protocol]
