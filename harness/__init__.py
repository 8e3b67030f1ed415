"""What the tests and the benchmarks both use to drive real processes: free ports, and a
running `llmhealth run` with its store's HTTP endpoint. Not part of the distribution."""
