"""What `llmhealth run` checks and prepares before anything starts: the store is the
embedded one, every API key a target names is set, every notification receiver's variables
are set, the store is not reachable from other machines without a password, the demo targets
when none is configured, and a private data directory. Every refusal is a `Refused` whose text
says what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aggregator.notify.endpoints import NotifierSetupError, endpoint
from aggregator.store.access import exposure_warning
from aggregator.store.base import StoreError
from aggregator.store.serve import private_data_dir
from llmhealth.run.demo import with_demo_targets
from llmhealth_config.model import Config
from prober.apikeys import MissingApiKey, resolve_api_keys


class Refused(Exception):
    """The run cannot start; the text names the setting and what to do."""


@dataclass(frozen=True)
class Prepared:
    config: Config
    """The configuration the run uses (with the demo targets when none was configured)."""
    demo: bool
    exposure: str | None
    """A warning to log once the store listens beyond this machine (access.exposure_warning)."""
    run_dir: Path
    """`<data_dir>/run`: the run's log, the children's config; private to this user."""


def prepare(config: Config, environ: Mapping[str, str]) -> Prepared:
    if config.store.url is not None:
        raise Refused("llmhealth run always uses the embedded store; store.url is for the parts "
                      "run apart (`llmhealth aggregator`, `llmhealth collector`, `llmhealth "
                      "migrate`): unset it, or LLMHEALTH_STORE__URL")
    try:
        for index, receiver in enumerate(config.notifications.receivers):
            endpoint(receiver, index, environ)  # its variables are set and hold a URL
        resolve_api_keys(config.targets, environ)
        exposure = exposure_warning(config.store, environ)
        run_dir = private_data_dir(config.store.data_dir)
    except (MissingApiKey, NotifierSetupError, StoreError) as exc:
        raise Refused(str(exc)) from None
    demo = not config.targets
    return Prepared(with_demo_targets(config) if demo else config, demo, exposure, run_dir)
