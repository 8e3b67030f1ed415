"""The dispatcher's table: which probe function runs a (protocol, kind) pair."""

from __future__ import annotations

from llmhealth.config.target import Target
from prober import openai
from prober.context import ProbeFn

PROBES: dict[str, dict[str, ProbeFn]] = {
    "openai": openai.PROBES,
    "azure": openai.PROBES,
}


def probe_for(target: Target, kind: str) -> ProbeFn:
    """The probe function of `kind` for the target's protocol; KeyError for a pair the config
    validation should have rejected."""
    return PROBES[target.protocol][kind]
