"""The built-in demo: targets of several protocols served by the simulator on loopback
(see simulator/scenarios.py): five OpenAI-compatible models with different faults, the
healthy model again over Anthropic's Messages API (with a two-turn `context` probe every
15 s), and an Ollama endpoint whose models are discovered. demo-healthy has a price and a
daily token budget, so that its probes' cost shows (the Probe cost dashboard,
docs/dashboards.md).

Beside the probes, a demo application (`simulator.traffic`: the official `openai` client under
the official OpenTelemetry instrumentation) sends a trickle of requests to three of the models,
so that the demo shows applications' requests (passive traffic) on their targets."""

from __future__ import annotations

import importlib.util
import sys

from llmhealth_config.model import Config

DEMO_MODELS = ("demo-healthy", "demo-slow", "demo-down", "demo-flaky", "demo-coinflip")
DEMO_INTERVAL_S = 5.0
DEMO_CONTEXT_INTERVAL_S = 15.0  # the context probe's default is 5 min: too long for a demo
# Never spent in a day at the demo's interval (about 190,000 tokens), so no probe is replaced.
DEMO_COST = {"demo-healthy": {"price": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
                              "daily_token_budget": 500_000}}
DEMO_APP_MODELS = ("demo-healthy", "demo-flaky", "demo-coinflip")
DEMO_APP_RATE = 0.5  # requests per second and model
DEMO_APP_SERVICE = "llmhealth-demo-app"
DEMO_APP_MODULES = ("openai", "opentelemetry.instrumentation.openai_v2")
"""What the demo application imports: the `demo` extra (pyproject.toml)."""


def with_demo_targets(config: Config) -> Config:
    """`config` with the demo targets added, pointing at the simulator's port."""
    root = f"http://{config.simulator.host}:{config.simulator.port}"
    common = {"provider": "llmhealth-simulator", "interval": DEMO_INTERVAL_S}
    targets = [{"name": name, "base_url": f"{root}/v1", "model": name, **common,
                **DEMO_COST.get(name, {})} for name in DEMO_MODELS]
    targets += [
        {"name": "demo-anthropic", "protocol": "anthropic", "base_url": f"{root}/anthropic",
         "model": "demo-healthy", "probes": ["completion", "stream", "context"],
         "context_interval": DEMO_CONTEXT_INTERVAL_S, **common},
        {"name": "demo-ollama", "protocol": "ollama", "base_url": f"{root}/ollama",
         "discover": True, "probes": ["models", "completion"], **common,
         # same server as the OpenAI routes, same model names: the demo application's requests
         # would match both (the instrumentation reports no path); they are the /v1 targets'
         "passive": {"enabled": False}},
    ]
    prober = {**config.prober.model_dump(), "discovery_interval": DEMO_INTERVAL_S}
    return Config.model_validate({**config.model_dump(), "targets": targets, "prober": prober})


def demo_app_command(config: Config) -> list[str] | None:
    """The demo application's command line, sending to the simulator and exporting to the
    local collector; None when the `demo` extra is not installed."""
    if not all(_installed(name) for name in DEMO_APP_MODULES):
        return None
    root = f"http://{config.simulator.host}:{config.simulator.port}/v1"
    routes = [arg for model in DEMO_APP_MODELS for arg in ("--route", f"{model}@{root}")]
    return [sys.executable, "-m", "simulator.traffic", "--otlp", config.collector.export_endpoint,
            "--service", DEMO_APP_SERVICE, "--rate", str(DEMO_APP_RATE), *routes]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False
