"""The aggregator's HTTP API, one FastAPI app: `GET /metrics` (the health state in the
Prometheus text format, or OpenMetrics when the scraper asks for it), the health reads under
`/api/health/` (with the live stream of changes, `/api/health/stream` and `/ws`), the badge
under `/api/badge/`, the diagnostics under `/api/diagnostics` and the status page at `/`
(docs/api.md), described at `/openapi.json` and
`/docs`. No CORS headers: a web page of another origin cannot read it."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from aggregator.api import badge, diagnostics, errors, history, overview, page, probe, route, stream
from aggregator.api import health as health_reads
from aggregator.api.probe import ProbeRunner
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.prometheus import registry_for
from aggregator.worker import Worker

DESCRIPTION = ("Health of LLM providers and models, as the aggregator last evaluated it. Reads "
               "are served from memory, refreshed after each evaluation; only a history reads "
               "the store. See docs/api.md.")
TEXT = {200: {"content": {"text/plain": {"schema": {"type": "string"}}},
              "description": "Prometheus text format (or OpenMetrics on request)"}}


def create_app(*, metrics: MetricsState, registry: CollectorRegistry | None = None,
               health: ApiState | None = None, probe_runner: ProbeRunner | None = None,
               worker: Worker | None = None) -> FastAPI:
    """The app serving `metrics` (rendered through `registry`, by default one of its own) and
    `health` (by default a state with nothing read yet: every configured target `unknown`),
    probing with `probe_runner` (None: `POST /api/health/probe` refuses) and reporting the cycle
    time of `worker` in the diagnostics (None: not known). Every route but a history and the
    diagnostics reads in-memory state only: no request reaches the store."""
    app = FastAPI(title="llmhealth aggregator", description=DESCRIPTION, docs_url="/docs",
                  redoc_url=None, openapi_url="/openapi.json")
    app.state.metrics = metrics
    app.state.registry = registry = registry or registry_for(metrics)
    app.state.health = health or ApiState(None, metrics.config)
    app.state.probe_runner = probe_runner
    app.state.worker = worker
    errors.install(app)
    # the history before the target: `/targets/{target:path}` would take `…/history` as a name
    for module in (history, health_reads, route, badge, stream, probe, diagnostics, overview,
                   page):
        app.include_router(module.router)

    @app.get("/metrics", response_class=Response, responses=TEXT, tags=["metrics"])
    def prometheus_metrics(request: Request) -> Response:
        """The health state for Prometheus (docs/alerting.md)."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=content_type)

    return app
