"""Gauges that export each value once: what was observed since the previous export.

OpenTelemetry's observable gauge asks a callback for values at every export. `LatestGauge`
answers with the last value set per attribute set since the previous export and then
forgets it, so a target that stopped answering stops reporting instead of repeating a stale
headroom forever. `set` may be called from the event loop while the exporter thread reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Meter, Observation

Attributes = Mapping[str, str | int]


class LatestGauge:
    def __init__(self, meter: Meter, name: str, *, unit: str, description: str) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[tuple[str, str | int], ...], float] = {}
        meter.create_observable_gauge(
            name, callbacks=[self._observe], unit=unit, description=description
        )

    def set(self, value: float, attributes: Attributes) -> None:
        key = tuple(sorted(attributes.items()))
        with self._lock:
            self._values[key] = value

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            values, self._values = self._values, {}
        return [Observation(value, dict(key)) for key, value in values.items()]
