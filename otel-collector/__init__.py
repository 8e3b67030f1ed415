"""The collectors' settings: rotel.env for `llmhealth collector` (and `llmhealth run`), and
config.yaml for the otelcol-contrib service of the compose stack. Shipped as package data of the
distribution as `llmhealth_otel_collector` (read through importlib.resources)."""
