"""The built-in demo: targets of several protocols served by the simulator on loopback
(see simulator/scenarios.py): five OpenAI-compatible models with different faults, the
healthy model again over Anthropic's Messages API (with a two-turn `context` probe every
15 s), and an Ollama endpoint whose models are discovered. demo-healthy has a price and a
daily token budget, so that its probes' cost shows (the Probe cost dashboard,
docs/dashboards.md)."""

from __future__ import annotations

from llmhealth_config.model import Config

DEMO_MODELS = ("demo-healthy", "demo-slow", "demo-down", "demo-flaky", "demo-coinflip")
DEMO_INTERVAL_S = 5.0
DEMO_CONTEXT_INTERVAL_S = 15.0  # the context probe's default is 5 min: too long for a demo
# Never spent in a day at the demo's interval (about 190,000 tokens), so no probe is replaced.
DEMO_COST = {"demo-healthy": {"price": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
                              "daily_token_budget": 500_000}}


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
         "discover": True, "probes": ["models", "completion"], **common},
    ]
    prober = {**config.prober.model_dump(), "discovery_interval": DEMO_INTERVAL_S}
    return Config.model_validate({**config.model_dump(), "targets": targets, "prober": prober})
