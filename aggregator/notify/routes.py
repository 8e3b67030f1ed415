"""Which receivers hear of an alert: notifications.routes, by target, pool and severity."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from aggregator.notify.alerts import Alert
from llmhealth_config.notifications import SEVERITY_RANK, NotificationSettings


def selects(targets: Sequence[str], pools: Sequence[str], alert: Alert) -> bool:
    """Whether a route or maintenance window with these `targets` (names or shell patterns)
    and `pools` covers `alert`: its target matches a pattern, or it is a member of one of the
    pools (or that pool itself). With neither, every alert."""
    if not targets and not pools:
        return True
    if any(fnmatchcase(alert.target, pattern) for pattern in targets):
        return True
    return bool(alert.pool) and alert.pool in pools


class Router:
    """The receivers of an alert: those of every route that selects it and whose
    `min_severity` it reaches, each once, in the order the receivers are configured."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._routes = settings.routes_or_default()
        self._order = [r.name for r in settings.receivers]

    def receivers_for(self, alert: Alert) -> list[str]:
        rank = SEVERITY_RANK[alert.severity]
        chosen = {name for route in self._routes
                  if rank >= SEVERITY_RANK[route.min_severity]
                  and selects(route.targets, route.pools, alert)
                  for name in route.receivers}
        return [name for name in self._order if name in chosen]
