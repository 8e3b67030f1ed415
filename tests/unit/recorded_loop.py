"""The prober's loop on the test's event loop, with every result it records kept: for tests
that drive targets against real servers and read what the prober saw."""

from __future__ import annotations

import asyncio
import time

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.loop import run_targets
from prober.outcome import ProbeResult
from prober.telemetry import TEMPORALITY, Telemetry


class Recorder(Telemetry):
    """Telemetry that also keeps every result, with the loop time it was recorded at."""

    def __init__(self, config: Config) -> None:
        super().__init__(config, metric_reader=InMemoryMetricReader(
            preferred_temporality=TEMPORALITY))
        self.results: list[tuple[float, ProbeResult]] = []
        self.liveness: list[tuple[float, ProbeResult]] = []

    def record(self, result: ProbeResult, target: Target, **kwargs: object) -> None:
        self.results.append((time.monotonic(), result))
        super().record(result, target, **kwargs)

    def record_liveness(self, result: ProbeResult, target: Target) -> None:
        self.liveness.append((time.monotonic(), result))
        super().record_liveness(result, target)


class Loop:
    """The prober's loop running `config` on this event loop until `stop()`."""

    def __init__(self, config: Config) -> None:
        self.telemetry = Recorder(config)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(run_targets(config, self.telemetry, stop=self._stop,
                                                     api_keys={}))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.wait_for(self._task, 5.0)

    def results(self, since: float = 0.0) -> list[ProbeResult]:
        return [r for at, r in self.telemetry.results if at >= since]
