"""How notifications read: one line per notification and a headline per message, shared by
every receiver type (webhook `text` fields, Slack lines, PagerDuty summaries)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from aggregator.notify.alerts import Notification, iso

REASON_MAX = 500
"""A reason is cut to this many characters in a line (the webhook body carries it whole)."""


def duration_text(seconds: float) -> str:
    """`8s`, `3m 12s`, `2h 5m`, `3d 4h`: how long a problem lasted."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _cut(text: str, limit: int = REASON_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def line(n: Notification) -> str:
    """One sentence about `n`: what the target is, since when or for how long, and why."""
    alert = n.alert
    what = "pool" if alert.target_kind == "pool" else "target"
    if n.action == "trigger":
        return (f"{what} {alert.target} is {alert.rule} ({alert.severity}) since "
                f"{iso(alert.started_at)}: {_cut(n.reason)}")
    if n.action == "reminder":
        return (f"{what} {alert.target} is still {alert.rule} ({alert.severity}) after "
                f"{duration_text(n.duration_s)}: {_cut(n.reason)}")
    return (f"{what} {alert.target} resolved: {alert.rule} for {duration_text(n.duration_s)}, "
            f"now {n.status}: {_cut(n.reason)}")


def headline(notifications: Sequence[Notification]) -> str:
    """`llmhealth: 2 problems, 1 resolved`: what a message holds, counted by action."""
    counts = Counter(n.action for n in notifications)
    parts = []
    if counts["trigger"]:
        parts.append(f"{counts['trigger']} problem{'s' if counts['trigger'] != 1 else ''}")
    if counts["reminder"]:
        parts.append(f"{counts['reminder']} still open")
    if counts["resolve"]:
        parts.append(f"{counts['resolve']} resolved")
    if len(notifications) == 1:
        return f"llmhealth: {line(notifications[0])}"
    return "llmhealth: " + ", ".join(parts)
