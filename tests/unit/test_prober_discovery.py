"""Discovery diffs: which models appeared, disappeared, loaded or unloaded."""

from __future__ import annotations

import pytest

from prober.discovery import Change, diff_models
from prober.local_models import LocalModel

A, B = LocalModel("a:1b", loaded=False), LocalModel("b:7b", loaded=True, vram_bytes=5_000)


@pytest.mark.parametrize(("known", "current", "changes"), [
    pytest.param({}, [A, B], [Change("a:1b", "appeared"), Change("b:7b", "appeared")],
                 id="first-round"),
    pytest.param({"a:1b": A}, [A], [], id="unchanged"),
    pytest.param({"a:1b": A, "b:7b": B}, [A], [Change("b:7b", "disappeared")], id="disappeared"),
    pytest.param({"a:1b": A}, [LocalModel("a:1b", loaded=True)], [Change("a:1b", "loaded")],
                 id="loaded"),
    pytest.param({"b:7b": B}, [LocalModel("b:7b", loaded=False)], [Change("b:7b", "unloaded")],
                 id="unloaded"),
    pytest.param({"a:1b": LocalModel("a:1b")}, [A], [], id="unknown-load-state-is-no-change"),
])
def test_diff(known: dict, current: list, changes: list) -> None:
    view, found = diff_models(known, current)
    assert found == changes
    assert view == {m.name: m for m in current}
