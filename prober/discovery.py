"""Local model discovery: what changed on a local server since the last look.

`diff_models` compares two views of an endpoint's models and names every change; the
prober turns `appeared`/`disappeared` into started/stopped probe loops and every change into
a log line and a `llmhealth.discovery.changes` count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prober.local_models import LocalModel

CHANGES = ("appeared", "disappeared", "loaded", "unloaded")


@dataclass(frozen=True)
class Change:
    model: str
    change: str


def diff_models(
    known: dict[str, LocalModel], current: Iterable[LocalModel]
) -> tuple[dict[str, LocalModel], list[Change]]:
    """The new view (by name) and the changes from `known` to it, in model-name order.
    A model seen for the first time is `appeared` only; its load state is news only later."""
    now = {model.name: model for model in current}
    changes: list[Change] = []
    for name in sorted(known.keys() | now.keys()):
        before, after = known.get(name), now.get(name)
        if before is None:
            changes.append(Change(name, "appeared"))
        elif after is None:
            changes.append(Change(name, "disappeared"))
        elif before.loaded is not None and after.loaded is not None and before.loaded != after.loaded:
            changes.append(Change(name, "loaded" if after.loaded else "unloaded"))
    return now, changes
