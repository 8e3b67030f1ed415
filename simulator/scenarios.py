"""Ready-made model line-ups: the built-in demo set and YAML-defined ones."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.behavior import ModelBehavior, Phase
from simulator.refusals import PRESETS


def demo_models() -> dict[str, ModelBehavior]:
    """The five demo models: healthy, slow (breaches a 5 s latency / 2 s TTFT threshold at
    p99), down (every request is a 500), flaky (60 s healthy, 60 s of 500s, repeating) and
    coinflip (half of all requests, at random, are 500s)."""
    return {
        "demo-healthy": ModelBehavior(latency_p50=0.04, latency_p99=0.12),
        "demo-slow": ModelBehavior(latency_p50=3.0, latency_p99=8.0, ttft_p50=2.5, ttft_p99=6.0),
        "demo-down": ModelBehavior(error_rate=1.0, error_kind="http_500"),
        "demo-flaky": ModelBehavior(
            schedule=[
                Phase(duration=60.0),
                Phase(duration=60.0, error_rate=1.0, error_kind="http_500"),
            ]
        ),
        "demo-coinflip": ModelBehavior(error_rate=0.5, error_kind="http_500"),
    }


def refusing_models() -> dict[str, ModelBehavior]:
    """One model per request-rule preset (`simulator.refusals.PRESETS`), named after it:
    `o3-mini`, `gpt-5.1`, … refuse what the real models refuse, with their 400s. In a models
    file, any model selects a preset with `rules: <name>`."""
    return {name: ModelBehavior(rules=rules) for name, rules in PRESETS.items()}


class _ModelsFile(BaseModel):
    """Top level of a models YAML file: `{models: {name: {...behaviour...}}}`."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelBehavior]


def load_models(path: Path) -> dict[str, ModelBehavior]:
    """Read `{models: {name: {...}}}` from the YAML file at `path`.

    Raises ValueError naming the file and the offending key (dotted path) when the file is
    not valid YAML or does not describe valid behaviours.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return _ModelsFile.model_validate(raw).models
    except ValidationError as exc:
        raise ValueError(f"{path}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    """One line per error: `dotted.key: message`."""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{key}: {error['msg']}")
    return "; ".join(lines)
