"""The aggregator's HTTP API, one FastAPI app: `GET /metrics` (the health state in the
Prometheus text format, or OpenMetrics when the scraper asks for it)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from aggregator.metrics_state import MetricsState
from aggregator.prometheus import registry_for


def create_app(*, metrics: MetricsState, registry: CollectorRegistry | None = None) -> FastAPI:
    """The app serving `metrics` (rendered through `registry`, by default one of its own).
    Every route reads in-memory state only: no request reaches the store."""
    app = FastAPI(title="llmhealth aggregator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.metrics = metrics
    app.state.registry = registry = registry or registry_for(metrics)

    @app.get("/metrics")
    def prometheus_metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=content_type)

    return app
