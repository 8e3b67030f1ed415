"""The built-in notifier (docs/notifications.md): webhook, Slack and PagerDuty messages about
the status changes the evaluation stores, with routes, grouping, reminders, maintenance
windows, retries, and a row per delivery attempt in health_notifications.

Wiring: `notifier = Notifier(store, config)`, `worker.add_listener(notifier.on_evaluated)`,
`notifier.start()` with the worker and `notifier.stop()` before the store is closed.
"""

from aggregator.notify.endpoints import NotifierSetupError
from aggregator.notify.notifier import Notifier

__all__ = ["Notifier", "NotifierSetupError"]
