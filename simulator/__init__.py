"""Fake OpenAI-compatible LLM provider with scriptable latency and faults."""

from simulator.app import create_app
from simulator.behavior import ModelBehavior, Phase
from simulator.latency import sample_latency
from simulator.scenarios import demo_models, load_models
from simulator.server import running, serve

__all__ = [
    "ModelBehavior",
    "Phase",
    "create_app",
    "demo_models",
    "load_models",
    "running",
    "sample_latency",
    "serve",
]
