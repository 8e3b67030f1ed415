"""The aggregator's HTTP API: `app.create_app` builds it, `server.ApiServer` serves it beside
the worker. One module per concept: `health` (summary, detailed, one target), `history`, `route`,
`badge`, their answers in `models`, the state's rows read in `rows`, bad input in `errors`; the
state they read is `aggregator.api_state` (docs/api.md)."""
