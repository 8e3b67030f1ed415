"""`llmhealth check --component aggregator` (llmhealth/checks.py): alive while evaluations
finish within 3 cycles, a cycle being the longer of the interval and the slowest evaluation
of the last minute; a slow aggregator is behind, not dead."""

from __future__ import annotations

import pytest

from aggregator import sql
from aggregator.store.base import StoreError
from llmhealth import checks
from llmhealth_config.model import Config

CONFIG = Config.model_validate({"targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"}]})
AT = "2026-12-06 11:48:00.000"


class Cycles:
    """A store whose health_cycles answer `rows` (or raise `error`)."""

    def __init__(self, rows: list[dict], error: str | None = None) -> None:
        self.answer, self.error, self.closed = rows, error, False

    def rows(self, text: str, params: dict | None = None) -> list[dict]:
        assert text == sql.query("last_cycle") and params and params["recent_s"] == 60
        if self.error:
            raise StoreError(self.error)
        return self.answer

    def close(self) -> None:
        self.closed = True


def check(monkeypatch: pytest.MonkeyPatch, store: Cycles) -> tuple[bool, str]:
    monkeypatch.setattr(checks, "connect_store", lambda config: store)
    result = checks.aggregator(CONFIG)
    assert store.closed
    return result


def cycle(age_s: float, slowest_ms: float, interval_s: float = 2.0) -> dict:
    return {"at": AT, "age_s": age_s, "slowest_ms": slowest_ms, "interval_s": interval_s}


@pytest.mark.parametrize(("age_s", "slowest_ms", "healthy", "line"), [
    (1.2, 300, True, f"aggregator: evaluated {AT} UTC, 1.2 s ago"),
    (5.9, 300, True, f"aggregator: evaluated {AT} UTC, 5.9 s ago"),
    (6.5, 300, False, (f"aggregator: no instant evaluated in the last 6 s (3 × aggregator.interval; "
                      f"the last, {AT} UTC, finished 6 s ago): it is not running, or failing "
                      "(see its log)")),
    # up to 4.5 s per evaluation at a 2 s interval: behind, alive while it finishes one in 13.5 s
    (9.0, 4500, True, (f"aggregator: evaluated {AT} UTC, 9.0 s ago; behind: evaluations took up "
                      "to 4.5 s in the last minute, longer than aggregator.interval (2 s), so it "
                      "skips instants (raise the interval, or split the targets)")),
    (14.0, 4500, False, (f"aggregator: no instant evaluated in the last 13.5 s (3 × the slowest "
                        f"evaluation of the last minute, 4.5 s; the last, {AT} UTC, finished 14 s "
                        "ago): it is not running, or failing (see its log)")),
])
def test_alive_within_three_cycles(monkeypatch: pytest.MonkeyPatch, age_s: float,
                                   slowest_ms: float, healthy: bool, line: str) -> None:
    assert check(monkeypatch, Cycles([cycle(age_s, slowest_ms)])) == (healthy, line)


def test_no_evaluation_and_an_unreadable_store_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(monkeypatch, Cycles([])) == (
        False, ("aggregator: no instant evaluated in the last 60 min: it is not running, has not "
               "evaluated yet, or fails (see its log)"))
    healthy, line = check(monkeypatch, Cycles([], error="store http://127.0.0.1:1/ refused"))
    assert not healthy
    assert line == ("aggregator: cannot read its evaluations (health_cycles): "
                    "store http://127.0.0.1:1/ refused")
