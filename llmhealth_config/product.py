"""Product constants every part shares."""

__version__ = "0.1.0"

# The OTel `service.name` of the prober: the aggregator's SQL selects probe results by it.
PROBER_SERVICE_NAME = "llmhealth-prober"
