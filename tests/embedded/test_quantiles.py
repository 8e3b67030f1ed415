"""Latency quantiles of health_windows, from the OTel SDK's exponential histograms written
to the raw table (the materialized view re-buckets them at scale 5), against numpy's exact
quantiles of the same samples.

Measured (10,000 samples, max 640 buckets): worst relative error over the distributions
below is printed by the test and stays under 2 %; the bound is the half-width of a bucket at
scale 5, sqrt(2^(2^-5)) - 1 = 1.09 %.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aggregator.evaluate import evaluate
from llmhealth_config.model import Config
from tests.embedded import synthetic

pytestmark = pytest.mark.embedded
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
    now = datetime.now(UTC)
    synthetic.outcomes(store, name, now, {"ok": len(samples)})
    synthetic.histogram(store, name, now, samples)
    evaluate(store, config, _instant_after_now())
    row = store.rows("SELECT latency_p50_s, latency_p90_s, latency_p99_s FROM health_windows "
                     "WHERE window_seconds = 300")[0]
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
    now = datetime.now(UTC)
    synthetic.outcomes(store, "m", now, {"ok": 10_000})
    synthetic.histogram(store, "m", now - timedelta(seconds=2), narrow)
    synthetic.histogram(store, "m", now, wide)
    assert synthetic.exponential_point(narrow).scale > synthetic.exponential_point(wide).scale
    evaluate(store, config, _instant_after_now())
    row = store.rows("SELECT latency_p50_s, latency_p99_s FROM health_windows WHERE window_seconds = 300")[0]
    both = np.concatenate([narrow, wide])
    for q, column in ((0.5, "latency_p50_s"), (0.99, "latency_p99_s")):
        exact = float(np.quantile(both, q))
        assert abs(row[column] - exact) / exact < 0.02


def _instant_after_now() -> datetime:
    """An instant just after the rows written above were stored (queries read rows stored by
    their instant)."""
    return datetime.fromtimestamp(time.time() + 1, UTC)
