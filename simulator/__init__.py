"""Fake OpenAI-compatible LLM provider with scriptable latency and faults."""

from simulator.app import create_app
from simulator.behavior import ModelBehavior, Phase
from simulator.latency import sample_latency
from simulator.refusals import PRESETS, RequestRules
from simulator.scenarios import demo_models, load_models, refusing_models
from simulator.server import running, serve

__all__ = [
    "PRESETS",
    "ModelBehavior",
    "Phase",
    "RequestRules",
    "create_app",
    "demo_models",
    "load_models",
    "refusing_models",
    "running",
    "sample_latency",
    "serve",
]
