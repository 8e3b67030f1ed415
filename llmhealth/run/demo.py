"""The built-in demo: four targets served by the simulator on loopback (see simulator/scenarios.py)."""

from __future__ import annotations

from llmhealth.config.model import Config

DEMO_MODELS = ("demo-healthy", "demo-slow", "demo-down", "demo-flaky")
DEMO_INTERVAL_S = 5.0


def with_demo_targets(config: Config) -> Config:
    """`config` with the demo targets added, pointing at the simulator's port."""
    base_url = f"http://{config.simulator.host}:{config.simulator.port}/v1"
    targets = [
        {"name": name, "provider": "llmhealth-simulator", "base_url": base_url, "model": name,
         "interval": DEMO_INTERVAL_S}
        for name in DEMO_MODELS
    ]
    return Config.model_validate({**config.model_dump(), "targets": targets})
