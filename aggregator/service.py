"""The aggregator part as one service: the evaluation worker, what listens to each evaluated
instant (the metrics state behind `GET /metrics`, the health state behind `/api/health/*`, the
notifier) and the HTTP API. The same service runs in `llmhealth aggregator` and inside
`llmhealth run`."""

from __future__ import annotations

from aggregator.api.app import create_app
from aggregator.api.probe import ProbeRunner
from aggregator.api.server import HOW, ApiServer
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.notify.notifier import Notifier
from aggregator.store.base import Store
from aggregator.worker import Worker
from llmhealth_config.model import Config


class AggregatorService:
    """Built from `store` and `config`: raises NotifierSetupError when a receiver cannot be
    used (its variable unset), before anything starts. `probe_runner` probes for
    `POST /api/health/probe` (None: that endpoint refuses). `start` raises ApiUnavailable (nothing
    left running) when the API cannot listen; `how` names the settings that choose its port."""

    def __init__(self, store: Store, config: Config, how: str = HOW,
                 probe_runner: ProbeRunner | None = None) -> None:
        self.worker = Worker(store, config)
        self.metrics = MetricsState(store, config)
        self.metrics.attach(self.worker)
        self.health = ApiState(store, config)
        self.health.attach(self.worker)
        self.notifier = Notifier(store, config)
        self.worker.add_listener(self.notifier.on_evaluated)
        self.api = ApiServer(create_app(metrics=self.metrics, health=self.health,
                                        probe_runner=probe_runner, worker=self.worker),
                             config.aggregator.http_host, config.aggregator.http_port, how=how)

    def start(self) -> None:
        self.api.start()
        self.metrics.start()
        self.health.start()
        self.notifier.start()
        self.worker.start()

    def stop(self) -> None:
        """The worker first (no new instant), then what follows it, then the API."""
        self.worker.stop()
        self.notifier.stop()
        self.metrics.stop()
        self.health.stop()
        self.api.stop()
