"""The ground floor every part imports: the configuration schema (model.py, target.py,
aggregator.py, types.py, urls.py, store_url.py, intervals.py), its loading with precise
errors (loader.py, yamlfile.py, environ.py, errors.py) and the product constants
(product.py). It imports no part of llmhealth."""

from llmhealth_config.errors import ConfigError
from llmhealth_config.loader import load_config
from llmhealth_config.model import Config
from llmhealth_config.target import Target, Thresholds

__all__ = ["Config", "ConfigError", "Target", "Thresholds", "load_config"]
