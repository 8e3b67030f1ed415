"""The store interface: the only way the aggregator reaches ClickHouse.

Two implementations run the same SQL files: `EmbeddedStore` (chDB in this process) and
`ServerStore` (a ClickHouse server over the native protocol). SQL takes values only as
ClickHouse query parameters (`{name:Type}`); callers pass them in `params`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any


class StoreError(Exception):
    """A query failed or the store is unreachable; the text is ClickHouse's or says what to do."""


class Store(ABC):
    """A ClickHouse database that runs one statement at a time.

    Statements run with `database` as the current database, so SQL files use unqualified
    table names. Implementations are safe to call from several threads.
    """

    database: str

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement (DDL, INSERT … SELECT, ALTER) and discard any result."""

    @abstractmethod
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one SELECT and return its rows as dicts keyed by column name."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; idempotent."""

    def ensure_database(self) -> None:
        """Create the configured database if it does not exist."""
        self.execute_in_default(
            "CREATE DATABASE IF NOT EXISTS {database:Identifier}", {"database": self.database}
        )

    @abstractmethod
    def execute_in_default(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement with the server's default database (before ours exists)."""
