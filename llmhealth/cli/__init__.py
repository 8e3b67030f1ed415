"""The `llmhealth` command. Thin: each command parses flags and calls one component.

`pipeline` holds the one-machine commands (run, migrate, simulate), `views` the reading
commands (status, history), `parts` one command per part of the production topology (store,
collector, prober, aggregator, check), `configcheck` the `config` group (validate).
"""

from llmhealth.cli import pipeline  # noqa: I001, F401  (each module registers its commands)
from llmhealth.cli import views  # noqa: F401
from llmhealth.cli import parts  # noqa: F401
from llmhealth.cli import configcheck  # noqa: F401
from llmhealth.cli import probe  # noqa: F401
from llmhealth.cli import activity  # noqa: F401
from llmhealth.cli.common import app

__all__ = ["app"]
