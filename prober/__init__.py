"""The prober: minimal requests to every configured model, results as OTLP metrics.

Shaped like prometheus blackbox_exporter: `openai` is the protocol module (one call shape,
one typed `ProbeResult`, see `outcome` and `attempt`), `loop` schedules and dispatches probes
and records results through `telemetry`, `main` is the process entry point.
"""
