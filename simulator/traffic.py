"""A small application that uses the official `openai` client, instrumented with
`opentelemetry-instrumentation-openai-v2`, to send a steady trickle of chat requests and export
its GenAI metrics over OTLP: the passive traffic of the demo (`llmhealth run`) and of the tests.

Each route is `MODEL@BASE_URL`, sent `rate` times a second (each route in a thread of its own);
the application's own count of requests per route and outcome is written as JSON to `--counts`
when it stops, so a test can compare what was sent with what was counted. The conventions the
instrumentation follows are its own: set `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`
for `gen_ai.provider.name`, leave it unset for the older `gen_ai.system`.

Run: `python -m simulator.traffic --otlp http://127.0.0.1:4317 --route demo-healthy@http://127.0.0.1:8900/v1`.
Needs the `demo` extra (pyproject.toml).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path


def _client_factory(service: str, otlp: str, export_interval_s: float):
    """Instrument the `openai` module (once per process) with a meter provider exporting to
    `otlp` every `export_interval_s`; return the provider (shut it down to flush)."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp, insecure=True),
                                           export_interval_millis=export_interval_s * 1000)
    provider = MeterProvider(metric_readers=[reader],
                             resource=Resource.create({"service.name": service}))
    OpenAIInstrumentor().instrument(meter_provider=provider)
    return provider


def _send(route: str, rate: float, timeout: float, stop: threading.Event,
          counts: Counter) -> None:
    import openai

    model, _, base_url = route.partition("@")
    client = openai.OpenAI(base_url=base_url, api_key="demo-app", max_retries=0, timeout=timeout)
    next_at = time.monotonic()
    while not stop.is_set():
        try:
            client.chat.completions.create(model=model, max_tokens=4,
                                           messages=[{"role": "user", "content": "hello"}])
            counts[(route, "ok")] += 1
        except Exception as exc:  # noqa: BLE001 - every failure is an outcome to count
            counts[(route, type(exc).__name__)] += 1
        next_at += 1 / rate
        stop.wait(max(0.0, next_at - time.monotonic()))


def run(routes: list[str], *, otlp: str, service: str, rate: float, timeout: float,
        duration: float | None, export_interval_s: float, stop: threading.Event) -> Counter:
    """Send each route's requests until `stop` is set (or `duration` seconds passed); flush
    the metrics; return the requests sent per (route, outcome)."""
    provider = _client_factory(service, otlp, export_interval_s)
    counts: Counter = Counter()
    threads = [threading.Thread(target=_send, args=(r, rate, timeout, stop, counts), daemon=True)
               for r in routes]
    for thread in threads:
        thread.start()
    stop.wait(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout + 5)
    provider.shutdown()  # exports what is left
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", action="append", required=True, help="MODEL@BASE_URL")
    parser.add_argument("--otlp", required=True, help="OTLP/gRPC endpoint, e.g. http://127.0.0.1:4317")
    parser.add_argument("--service", default="llmhealth-demo-app", help="service.name")
    parser.add_argument("--rate", type=float, default=1.0, help="requests per second per route")
    parser.add_argument("--timeout", type=float, default=5.0, help="client timeout, seconds")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: until stopped)")
    parser.add_argument("--export-interval", type=float, default=1.0, help="seconds")
    parser.add_argument("--counts", type=Path, help="write the requests sent as JSON here")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    counts = run(args.route, otlp=args.otlp, service=args.service, rate=args.rate,
                 timeout=args.timeout, duration=args.duration,
                 export_interval_s=args.export_interval, stop=stop)
    if args.counts:
        args.counts.write_text(json.dumps([{"route": r, "outcome": o, "n": n}
                                           for (r, o), n in sorted(counts.items())]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
