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
