"""Probe cost: tokens each probe spends, their estimated price, and a per-target daily budget.

Tokens are what the provider reported in the response's usage; a token-spending probe that
got an answer without usage is counted as `ESTIMATED_INPUT_TOKENS` in and one token per
content chunk (at least one) out, so a budget also holds for servers that report nothing.
Budgets reset at 00:00 UTC and live in the prober's memory: a restart starts the day afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from llmhealth_config.target import TOKENLESS_KINDS, Price
from prober.outcome import ProbeResult

ESTIMATED_INPUT_TOKENS = 8
DAY_S = 86_400


def tokens_spent(result: ProbeResult) -> tuple[int, int]:
    """(input, output) tokens the probe cost: reported usage, else the estimate above for a
    token-spending probe that received an answer, else (0, 0)."""
    if result.input_tokens is not None or result.output_tokens is not None:
        return result.input_tokens or 0, result.output_tokens or 0
    answered = result.http_status is not None and 200 <= result.http_status < 300
    if result.kind in TOKENLESS_KINDS or not answered:
        return 0, 0
    return ESTIMATED_INPUT_TOKENS, max(result.chunks, 1)


FREE_FAILURES = frozenset({"connect", "dns", "tls"})
"""Failures before the request reached the server."""


def failure_costs_nothing(result: ProbeResult) -> bool:
    """Whether a failed probe certainly cost nothing: the connection never opened, or the
    server answered an error status before generating anything. Not a 429 (probing on would
    spend the quota the provider is protecting), nor a timeout or a broken answer (the
    provider may have generated, and billed, tokens)."""
    if result.outcome in FREE_FAILURES:
        return True
    status = result.http_status
    return status is not None and status >= 400 and status != 429 and sum(tokens_spent(result)) == 0


def cost_usd(tokens: tuple[int, int], price: Price | None) -> float | None:
    """Estimated price of `tokens` (input, output) in USD; None without a price."""
    if price is None:
        return None
    return (tokens[0] * price.input_per_mtok + tokens[1] * price.output_per_mtok) / 1_000_000


class TokenBudget:
    """Tokens one target's probes spent today (UTC) against its `daily_token_budget`."""

    def __init__(self, limit: int | None, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._day = self._today()
        self._spent = 0

    def spend(self, tokens: int) -> None:
        self._roll()
        self._spent += tokens

    @property
    def spent(self) -> int:
        self._roll()
        return self._spent

    def exhausted(self) -> bool:
        """True while today's spending has reached the limit (never without a limit)."""
        return self.limit is not None and self.spent >= self.limit

    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.spent)

    def _today(self) -> int:
        return int(self._clock() // DAY_S)

    def _roll(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, 0
