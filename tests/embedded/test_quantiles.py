"""Latency quantiles computed by evaluate_snapshots.sql from the OTel SDK's exponential
histograms, against numpy's exact quantiles of the same samples.

Measured (10,000 samples, max 640 buckets): worst relative error over the distributions
below is printed by the test and stays under 2 %; the bound is the half-width of a bucket at
the chosen scale, sqrt(2^(2^-scale)) - 1 (1.1 % at scale 5, 2.2 % at scale 4).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from aggregator.evaluate import evaluate
from llmhealth.config.model import Config
from tests.embedded import synthetic

pytestmark = pytest.mark.embedded
AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
RNG = np.random.default_rng(42)
DISTRIBUTIONS = {
    "lognormal": RNG.lognormal(mean=np.log(0.4), sigma=0.6, size=10_000),
    "uniform": RNG.uniform(0.05, 2.0, size=10_000),
    "exponential": 0.02 + RNG.exponential(0.3, size=10_000),
    "bimodal": np.concatenate([RNG.normal(0.12, 0.01, 8_000).clip(0.05),
                               RNG.normal(3.0, 0.3, 2_000).clip(1.0)]),
    "narrow": RNG.normal(1.0, 0.001, size=10_000),
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_quantiles_within_2_percent_of_numpy(store, name: str) -> None:
    samples = DISTRIBUTIONS[name]
    config = Config.model_validate({"targets": [{"name": name, "base_url": "http://x/v1", "model": "m"}]})
    synthetic.outcomes(store, name, AT, {"ok": len(samples)})
    synthetic.histogram(store, name, AT, samples)
    evaluate(store, config, AT)
    row = store.rows("SELECT latency_p50_s, latency_p90_s, latency_p99_s FROM health_snapshots")[0]
    errors = []
    for q, column in ((0.5, "latency_p50_s"), (0.9, "latency_p90_s"), (0.99, "latency_p99_s")):
        exact = float(np.quantile(samples, q))
        errors.append(abs(row[column] - exact) / exact)
    print(f"{name}: relative error p50 {errors[0]:.3%}, p90 {errors[1]:.3%}, p99 {errors[2]:.3%}")
    assert max(errors) < 0.02, errors


def test_quantiles_merge_points_of_different_scales(store) -> None:
    """Points exported at different scales (narrow then wide ranges) merge correctly."""
    narrow = RNG.normal(0.2, 0.002, 3_000)
    wide = RNG.lognormal(np.log(0.5), 1.0, 7_000)
    config = Config.model_validate({"targets": [{"name": "m", "base_url": "http://x/v1", "model": "m"}]})
    synthetic.outcomes(store, "m", AT, {"ok": 10_000})
    synthetic.histogram(store, "m", AT, narrow)
    synthetic.histogram(store, "m", AT.replace(second=2), wide)
    assert synthetic.exponential_point(narrow).scale > synthetic.exponential_point(wide).scale
    evaluate(store, config, AT.replace(second=5))
    row = store.rows("SELECT latency_p50_s, latency_p99_s FROM health_snapshots")[0]
    both = np.concatenate([narrow, wide])
    for q, column in ((0.5, "latency_p50_s"), (0.99, "latency_p99_s")):
        exact = float(np.quantile(both, q))
        assert abs(row[column] - exact) / exact < 0.02
