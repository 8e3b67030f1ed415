"""Maintenance windows: while one covers a target, its triggers and reminders are not sent.

A window is judged at the notification's own instant (the change, or when a reminder fell
due), not at the time of sending, so every aggregator and a backfill decide alike. A problem
that is still open when the window ends is triggered then (plan.py); the resolve of a problem
that was triggered before the window is sent, so no receiver keeps an incident open for a
target that has recovered.
"""

from __future__ import annotations

from datetime import datetime

from aggregator.notify.alerts import Alert
from aggregator.notify.routes import selects
from llmhealth_config.notifications import MaintenanceWindow


class Maintenance:
    def __init__(self, windows: list[MaintenanceWindow]) -> None:
        self._windows = windows

    def silencing(self, alert: Alert, at: datetime) -> MaintenanceWindow | None:
        """The first window that covers `alert`'s target at `at`, if any."""
        for window in self._windows:
            if window.covers(at) and selects(window.targets, window.pools, alert):
                return window
        return None
