"""Load the SQL kept in `clickhouse/` (migrations/*.sql, queries/*.sql), one statement a file."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SQL_ROOT = Path(__file__).resolve().parent.parent / "clickhouse"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@cache
def query(name: str) -> str:
    """The text of `clickhouse/queries/<name>.sql`."""
    return (SQL_ROOT / "queries" / f"{name}.sql").read_text(encoding="utf-8")


def migrations(root: Path = SQL_ROOT) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file under `root`, in version order; versions
    unique. None at all is an error: a store migrated from nothing would be empty."""
    found: dict[int, tuple[int, str, str]] = {}
    for path in sorted((root / "migrations").glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNNN_snake_case.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path}: migration version {version} is used twice")
        found[version] = (version, match.group(2), path.read_text(encoding="utf-8"))
    if not found:
        raise FileNotFoundError(f"no migrations in {root / 'migrations'}: the installation is incomplete "
                                "(the SQL files ship with the package)")
    return [found[v] for v in sorted(found)]
