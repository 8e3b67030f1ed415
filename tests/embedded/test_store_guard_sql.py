"""Our own SQL passes the embedded store's statement guard: every migration and query file,
formatted by the engine, is served to user default (an aggregator or `llmhealth migrate` over
HTTP), and every reading query also to user reader (Grafana, people)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator import sql
from aggregator.store.embedded import EmbeddedStore, Session
from aggregator.store.guard import Guard

pytestmark = pytest.mark.embedded
FILES = sorted((f for folder in ("migrations", "queries")
                for f in sql.SQL_ROOT.joinpath(folder).iterdir() if f.name.endswith(".sql")),
               key=lambda f: (f.parent.name, f.name))


@pytest.fixture(scope="module")
def engine(engine_dir: Path) -> Iterator[tuple[Guard, Session]]:
    store = EmbeddedStore(engine_dir, "system")
    functions = [row["name"] for row in store.rows("SELECT name FROM system.table_functions")]
    session = store.open_session()
    yield Guard.from_engine(functions, "llmhealth"), session
    session.close()
    store.close()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_sql_file_is_served(engine: tuple[Guard, Session], path: Path) -> None:
    guard, session = engine
    statement = guard.statement(path.read_text(encoding="utf-8"), session.format_statement)
    params = {"table": "health_events", "column": "at"}  # retention_apply's identifiers
    guard.check_query(statement, "default", params, read_only_request=False)
    assert statement.writes == statement.sql.startswith(("CREATE", "DROP", "INSERT", "ALTER"))
    if not statement.writes:
        guard.check_query(statement, "reader", params, read_only_request=True)
