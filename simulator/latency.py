"""Latency sampling: a lognormal distribution pinned by its median and 99th percentile."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

# z-score of the 99th percentile of the standard normal distribution.
_Z99 = NormalDist().inv_cdf(0.99)


def sample_latency(rng: random.Random, p50: float, p99: float) -> float:
    """Draw one latency in seconds from a lognormal whose median is `p50` and whose
    99th percentile is `p99`.

    Requires 0 < p50 <= p99; when they are equal the result is always `p50`.
    """
    if p50 <= 0 or p99 < p50:
        raise ValueError(f"need 0 < p50 <= p99, got p50={p50} p99={p99}")
    sigma = (math.log(p99) - math.log(p50)) / _Z99
    return rng.lognormvariate(math.log(p50), sigma)
