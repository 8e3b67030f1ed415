"""Configuration: schema (model.py, target.py, types.py) and loading with precise errors (loader.py)."""

from llmhealth.config.loader import ConfigError, load_config
from llmhealth.config.model import Config
from llmhealth.config.target import Target, Thresholds

__all__ = ["Config", "ConfigError", "Target", "Thresholds", "load_config"]
