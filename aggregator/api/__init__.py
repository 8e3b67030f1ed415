"""The aggregator's HTTP API: `app.create_app` builds it, `server.ApiServer` serves it beside
the worker."""
