"""The floor of probe intervals, so that a typo (`interval: 1ms`) cannot send a paid model
hundreds of requests a second.

`prober.interval`, `targets[].interval` and `prober.discovery_interval` are at least
MIN_INTERVAL_S. A target that sets `allow_fast_interval: true` may go down to
FAST_MIN_INTERVAL_S, and so may `prober.discovery_interval` when every `discover: true`
target sets it; the prober then logs a warning at start naming the target and its rate.
"""

from __future__ import annotations

MIN_INTERVAL_S = 1.0
"""Shortest time between two probes of one kind on one target, or two discovery rounds."""

FAST_MIN_INTERVAL_S = 0.1
"""Shortest interval at all, for targets with `allow_fast_interval: true`."""


def interval_problem(seconds: float, allow_fast: bool, opt_in: str) -> str | None:
    """Why `seconds` is refused as an interval, or None when it is allowed. `opt_in` ends the
    message when `allow_fast` is false: how the operator may allow a shorter interval."""
    if seconds >= MIN_INTERVAL_S:
        return None
    if not allow_fast:
        return f"must be at least {MIN_INTERVAL_S:g} s (got {seconds:g} s){opt_in}"
    if seconds < FAST_MIN_INTERVAL_S:
        return (f"must be at least {FAST_MIN_INTERVAL_S:g} s, even with allow_fast_interval "
                f"(got {seconds:g} s)")
    return None
