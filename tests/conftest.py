"""Shared fixtures. chDB runs one engine per process, so every embedded test shares one data
directory and gets a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from llmhealth_config.model import RetentionSettings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `long` first, each module's tests and the rest in their order:
    `make test` hands whole modules to its two workers in this order (`--no-loadscope-reorder`:
    by default they go by their number of tests, most first), and a long one handed out last
    would keep one worker busy alone while the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@contextmanager
def migrated_store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    """A migrated embedded store in a fresh database of the shared engine, dropped at the end
    (for the module-scoped fixtures that fill one store once for all their tests)."""
    db = EmbeddedStore(engine_dir, f"t_{uuid.uuid4().hex[:12]}")
    migrate(db, RetentionSettings())
    try:
        yield db
    finally:
        db.execute_in_default("DROP DATABASE IF EXISTS {db:Identifier}", {"db": db.database})
        db.close()


@pytest.fixture
def store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    """A migrated embedded store in a fresh database."""
    with migrated_store(engine_dir) as db:
        yield db
