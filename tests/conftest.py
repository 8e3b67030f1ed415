"""Shared fixtures. chDB runs one engine per process, so every embedded test shares one data
directory and gets a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.migrate import migrate
from aggregator.store.embedded import EmbeddedStore
from llmhealth_config.model import RetentionSettings


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    """A migrated embedded store in a fresh database."""
    db = EmbeddedStore(engine_dir, f"t_{uuid.uuid4().hex[:12]}")
    migrate(db, RetentionSettings())
    yield db
    db.execute_in_default("DROP DATABASE IF EXISTS {db:Identifier}", {"db": db.database})
    db.close()
