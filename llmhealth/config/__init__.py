"""Configuration: schema (model.py, target.py, aggregator.py, types.py, urls.py,
intervals.py) and loading with precise errors (loader.py, yamlfile.py, environ.py,
errors.py)."""

from llmhealth.config.errors import ConfigError
from llmhealth.config.loader import load_config
from llmhealth.config.model import Config
from llmhealth.config.target import Target, Thresholds

__all__ = ["Config", "ConfigError", "Target", "Thresholds", "load_config"]
