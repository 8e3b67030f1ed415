"""Load the SQL kept in `clickhouse/` (migrations/*.sql, queries/*.sql), one statement a file.

The folder ships inside the distribution as the package `llmhealth_clickhouse`, so the same
files are read from a source checkout, an editable install and an installed wheel.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

SQL_ROOT: Traversable = files("llmhealth_clickhouse")
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@cache
def query(name: str) -> str:
    """The text of `clickhouse/queries/<name>.sql`."""
    return SQL_ROOT.joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


def migrations(root: Traversable = SQL_ROOT) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file under `root`, in version order; versions
    unique. None at all is an error: a store migrated from nothing would be empty."""
    found: dict[int, tuple[int, str, str]] = {}
    folder = root.joinpath("migrations")
    paths = sorted(folder.iterdir(), key=lambda p: p.name) if folder.is_dir() else []
    for path in (p for p in paths if p.name.endswith(".sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNNN_snake_case.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path}: migration version {version} is used twice")
        found[version] = (version, match.group(2), path.read_text(encoding="utf-8"))
    if not found:
        raise FileNotFoundError(f"no migrations in {folder}: the installation is incomplete "
                                "(the SQL files ship with the package)")
    return [found[v] for v in sorted(found)]
