"""No false alarms: 20 healthy targets with 1 % random HTTP 500s through `llmhealth run` for
2 minutes change status no more than once each (their start, `new` or `unknown` →
`healthy`).

The shortened form of the soak benchmark (`bench/soak.py`; `make bench` runs it for an hour).
Over 2 min the 20 targets run about 960 probes on their slots (2 kinds every 5 s), so about
10 of them fail, each followed by up to 30 doubt probes a second apart. A false alarm needs
the breaker's 3 failures in a row (about 1e-4 per failure: about 0.1 % per run) or an
error-rate rule: those wait for `thresholds.min_requests` (30) requests of a kind, or of the
answers together (a target's reach 30 after about 75 s, a kind's sooner after a failure and
its doubt probes), and then need the error rate's 90 % lower bound at 5 % (4 failures among
30 answers, 6 among 60, 9 among 120): about 2e-4 per kind and target at 1 %, so fewer than
one run in a hundred sees one. Before that minimum existed, one failure among a target's
first 1-3 probes put the lower bound at 21 %, 9.5 % or 6.1 % and the target started
`degraded`, which failed this test in about a quarter of its runs. A `healthy` kind read
`unknown` after 2 failures among its first 16 requests while doubt began at a lower bound of
5 % (2 of 13 failed it once); doubt now needs 35 %, 3 failures within 4 requests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak

pytestmark = [pytest.mark.embedded, pytest.mark.long]

TARGETS = 20
MINUTES = 2.0


def test_one_percent_errors_raise_no_status_change(tmp_path: Path) -> None:
    result = soak.measure(tmp_path, targets=TARGETS, minutes=MINUTES, log=lambda _line: None)
    assert result["started"] == TARGETS, result
    assert result["probes"] > TARGETS * MINUTES * 60 / 5, result  # every target was probed throughout
    changes = [soak.describe(c) for c in result["status_changes"]]
    assert changes == [], "\n".join(changes)
