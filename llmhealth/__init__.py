"""llmhealth: health monitoring for LLM providers and models (OpenTelemetry + ClickHouse).

This package is the top floor: the command line (cli/, one command per part), the `run`
supervisor (run/) and the parts' health checks. The parts (prober/, aggregator/, simulator/)
never import it; what they share is the ground floor, llmhealth_config/."""
