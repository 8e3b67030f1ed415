"""`llmhealth run`: the whole pipeline on one machine (embedded store, rotel, prober, aggregator)."""
