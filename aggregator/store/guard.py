"""What the embedded store's HTTP endpoint lets each user run.

Two users reach the endpoint (access.py): `default`, for llmhealth's own parts and the operator
(the collector's inserts, `llmhealth status`, DDL), and `reader`, read-only, for people and
Grafana. Neither may reach outside the store: the engine in this process can read and write
any file the process can (`file()`, `INTO OUTFILE`, the `default` database, which in the
embedded engine is a view of the file system), call other servers (`url()`, `remote()`, `s3()`,
…) or run programs (`executable()`). Those are refused here, before the engine sees them.

A statement is judged on the engine's own formatting of it (`formatQuerySingleLine`): one
statement, no comments, no rows smuggled after an INSERT; that text is what then runs, so what
was checked is what is executed. The reader's session is also read-only in the engine
(`readonly = 1`), which refuses writes and any change of its limits.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from aggregator.store.sql_tokens import Token, TokenError, tokenize

Role = Literal["default", "reader"]

# Statements by their first word. Anything else (SET, USE, SYSTEM, KILL, BACKUP, RESTORE,
# ATTACH, DETACH, GRANT, …) is refused: sessions are shared, and none of them is needed.
READ_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})
WRITE_OBJECTS = {
    "INSERT": None, "DELETE": None, "UPDATE": None, "TRUNCATE": None, "OPTIMIZE": None,
    "CHECK": None,
    "CREATE": frozenset({"TABLE", "VIEW", "MATERIALIZED", "DATABASE"}),
    "ALTER": frozenset({"TABLE"}),
    "DROP": frozenset({"TABLE", "VIEW", "DATABASE"}),
    "RENAME": frozenset({"TABLE", "DATABASE"}),
    "EXCHANGE": frozenset({"TABLES"}),
}
"""Writing statements the `default` user may run, with the objects they may name (None: any)."""

ALLOWED_TABLE_FUNCTIONS = frozenset({
    "numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateseries", "primes",
    "values", "null", "view", "generaterandom", "format"})
"""Table functions that compute rows inside the engine; every other one the engine knows is
refused (files, URLs, other servers, programs, other databases, this process's Python)."""

DENIED_FUNCTIONS = frozenset({"file", "disk", "catboostevaluate", "hascolumnintable"})
"""Ordinary functions that reach outside: `file()` reads a file, `disk()` defines a disk at any
path or bucket, `catboostEvaluate()` loads a library, `hasColumnInTable()` infers the schema of
a file named as a table of database `default`."""

ALLOWED_ENGINES = frozenset({
    "mergetree", "replacingmergetree", "summingmergetree", "aggregatingmergetree",
    "collapsingmergetree", "versionedcollapsingmergetree", "coalescingmergetree",
    "graphitemergetree", "memory", "null", "log", "tinylog", "stripelog", "set", "join", "atomic"})
"""Table and database engines that keep their data in the store (`ENGINE = …`)."""

BULK_INSERT_FORMATS = frozenset({
    "rowbinary", "rowbinarywithnames", "rowbinarywithnamesandtypes", "rowbinarywithdefaults",
    "native", "jsoneachrow", "jsoncompacteachrow", "jsonlines", "ndjson", "tabseparated", "tsv",
    "tabseparatedwithnames", "tsvwithnames", "tabseparatedwithnamesandtypes",
    "tsvwithnamesandtypes", "tabseparatedraw", "tsvraw", "csv", "csvwithnames",
    "csvwithnamesandtypes", "parquet", "arrow", "arrowstream", "orc"})
"""Input formats of rows sent in a request body: plain data (Values would evaluate expressions)."""

BULK_INSERT_TABLE_PREFIX = "otel_metrics_"
DENIED_SETTING = re.compile(r"path|file|url|schema|template|director|s3|azure|hdfs|keeper|disk"
                            r"|jemalloc|introspection|interpret_expressions")
"""Settings that name files, servers or disks, or let inserted rows run expressions."""

FILESYSTEM_DATABASE = "default"
_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_CACHE_SIZE = 512

ACCESS_DENIED = 497
READONLY = 164


class Refused(Exception):
    """The statement is not served; `code` is ClickHouse's error code, the text says why."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True)
class Statement:
    """One statement as the engine formats it (`sql`, what runs), with what the rules need."""

    sql: str
    writes: bool
    identifier_params: tuple[str, ...] = ()
    insert_table: str | None = None
    insert_database: str | None = None
    insert_format: str | None = None
    insert_has_select: bool = False


def _words(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens if t.kind == "word" and not t.quoted]


def _first_keywords(tokens: list[Token]) -> list[str]:
    start = 0
    while start < len(tokens) and tokens[start].text == "(":
        start += 1
    return _words(tokens[start:start + 8])


def _skip_value(tokens: list[Token], i: int) -> int:
    """Index after the setting value starting at `i` (a literal, or a bracketed one)."""
    if i < len(tokens) and tokens[i].kind == "punct" and tokens[i].text == "-":
        i += 1
    if i < len(tokens) and tokens[i].kind == "punct" and tokens[i].text in "([{":
        depth = 0
        while i < len(tokens):
            if tokens[i].kind == "punct" and tokens[i].text in "([{":
                depth += 1
            elif tokens[i].kind == "punct" and tokens[i].text in ")]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i
    return i + 1


def setting_names(tokens: list[Token]) -> list[str]:
    """Names set by every `SETTINGS a = 1, b = 2` (and ALTER's `MODIFY SETTING`) clause."""
    names: list[str] = []
    for start, token in enumerate(tokens):
        if token.kind != "word" or token.quoted or token.text not in ("SETTINGS", "SETTING"):
            continue
        i = start + 1
        while i + 1 < len(tokens) and tokens[i].kind == "word" and tokens[i + 1].text == "=":
            names.append(tokens[i].text)
            i = _skip_value(tokens, i + 2)
            if i < len(tokens) and tokens[i].text == ",":
                i += 1
            else:
                break
    return names


class Guard:
    """Decides, per user, whether the endpoint runs a statement; thread-safe.

    `denied_functions` are the lower-cased names of functions that reach outside the store
    (from the engine's list of table functions, see `from_engine`); `database` is the one
    database the endpoint serves besides `system`.
    """

    def __init__(self, denied_functions: frozenset[str], database: str) -> None:
        self.denied_functions = denied_functions | DENIED_FUNCTIONS
        self.database = database
        self._cache: OrderedDict[str, Statement | Refused] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_engine(cls, table_functions: list[str], database: str) -> Guard:
        names = frozenset(name.lower() for name in table_functions)
        return cls(names - ALLOWED_TABLE_FUNCTIONS, database)

    def statement(self, text: str, canonical: Callable[[str], str]) -> Statement:
        """The statement in `text`, formatted by `canonical` (the engine's formatter, which
        raises on a syntax error or several statements); raises Refused for what no user may
        run. Verdicts are cached by text."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
        if hit is None:
            try:
                hit = self._analyse(canonical(text))
            except Refused as exc:
                hit = exc
            with self._lock:
                self._cache[text] = hit
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        if isinstance(hit, Refused):
            raise hit
        return hit

    def check_query(self, statement: Statement, role: Role, params: Mapping[str, str],
                    read_only_request: bool) -> None:
        """Raise Refused unless `role` may run `statement` as a query (rows, if any, in its
        result): the reader and GET requests only read; an INSERT takes its rows from a SELECT."""
        if statement.writes and role == "reader":
            raise Refused(READONLY, "user reader may only read (SELECT, SHOW, DESCRIBE, EXISTS, "
                                    "EXPLAIN); writing needs user default")
        if statement.writes and read_only_request:
            raise Refused(READONLY, "a GET request is read-only: send statements that write with POST")
        if statement.insert_table is not None and not statement.insert_has_select:
            raise Refused(ACCESS_DENIED, "an INSERT with its rows in the query text is not served: send "
                                         "`INSERT INTO t FORMAT <format>` in the `query` URL parameter "
                                         "and the rows in the request body, or use INSERT … SELECT")
        for name in statement.identifier_params:
            value = params.get(name)
            if value is not None and not self._served_identifier(value):
                raise Refused(ACCESS_DENIED, f"query parameter {name!r} (Identifier) must name a "
                                             f"table or database of this store, not {value!r}")

    def check_bulk_insert(self, statement: Statement, role: Role) -> None:
        """Raise Refused unless `role` may stream rows into `statement`'s table: only user
        default, only into the collector's otel_metrics_* tables, only plain data formats."""
        if role == "reader":
            raise Refused(READONLY, "user reader may only read; inserts need user default")
        table, database = statement.insert_table, statement.insert_database
        if table is None:
            raise Refused(ACCESS_DENIED, "rows in the request body need `INSERT INTO <table> "
                                         "FORMAT <format>` in the `query` URL parameter")
        if not table.startswith(BULK_INSERT_TABLE_PREFIX) or database not in (None, self.database):
            raise Refused(ACCESS_DENIED, f"rows in a request body are accepted only into the "
                                         f"collector's tables ({self.database}."
                                         f"{BULK_INSERT_TABLE_PREFIX}*), not into {table}")
        if (statement.insert_format or "").lower() not in BULK_INSERT_FORMATS:
            raise Refused(ACCESS_DENIED, f"input format {statement.insert_format} is not served: "
                                         "use RowBinary, Native, JSONEachRow, TSV or CSV")

    def _served_identifier(self, value: str) -> bool:
        return bool(_PLAIN_IDENTIFIER.match(value)) and FILESYSTEM_DATABASE not in value.split(".")

    def _analyse(self, sql: str) -> Statement:
        try:
            tokens = tokenize(sql)
        except TokenError as exc:
            raise Refused(ACCESS_DENIED, f"cannot read the statement: {exc}") from None
        keywords = _first_keywords(tokens)
        if not keywords:
            raise Refused(ACCESS_DENIED, "empty statement")
        writes = self._statement_kind(keywords)
        self._check_tokens(tokens)
        identifier_params = tuple(t.text for t in tokens
                                  if t.kind == "param" and t.type.strip() == "Identifier")
        if keywords[0] != "INSERT":
            return Statement(sql, writes, identifier_params)
        return self._insert(sql, tokens, identifier_params)

    def _statement_kind(self, keywords: list[str]) -> bool:
        """True for a writing statement; Refused for a statement not served at all."""
        first = keywords[0]
        if first in READ_STATEMENTS:
            return False
        if first not in WRITE_OBJECTS:
            raise Refused(ACCESS_DENIED, f"{first} statements are not served by the embedded store")
        objects = WRITE_OBJECTS[first]
        rest = [w for w in keywords[1:] if w not in ("OR", "REPLACE")]
        if objects is not None and (not rest or rest[0] not in objects):
            what = " ".join(keywords[:2])
            raise Refused(ACCESS_DENIED, f"{what} is not served by the embedded store (temporary "
                                         "tables, dictionaries, functions, users and named "
                                         "collections are not available)")
        return True

    def _check_tokens(self, tokens: list[Token]) -> None:
        for i, token in enumerate(tokens):
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if token.kind != "word":
                continue
            if following is not None and following.text == "(" and following.kind == "punct" \
                    and token.text.lower() in self.denied_functions:
                raise Refused(ACCESS_DENIED, f"{token.text}() reaches outside the store (files, other "
                                             "servers or programs) and is not served")
            if token.text == FILESYSTEM_DATABASE:
                raise Refused(ACCESS_DENIED, "database `default` is the embedded engine's view of "
                                             f"the file system and is not served; use {self.database}")
            if token.quoted:
                continue
            if token.text in ("OUTFILE", "INFILE"):
                raise Refused(ACCESS_DENIED, f"{token.text} would read or write a file on the store's "
                                             "machine and is not served")
            if token.text in ("FREEZE", "UNFREEZE", "FETCH"):
                raise Refused(ACCESS_DENIED, f"ALTER … {token.text} is not served by the embedded store")
            if token.text == "ENGINE" and following is not None and following.text == "=":
                engine = tokens[i + 2] if i + 2 < len(tokens) else None
                if engine is None or engine.text.lower() not in ALLOWED_ENGINES:
                    name = engine.text if engine is not None else "?"
                    raise Refused(ACCESS_DENIED, f"engine {name} is not served by the embedded store: "
                                                 "use MergeTree-family, Memory or Null tables")
        for name in setting_names(tokens):
            if DENIED_SETTING.search(name.lower()):
                raise Refused(ACCESS_DENIED, f"setting {name} names files, servers or disks, or "
                                             "runs expressions in rows, and is not served")

    def _insert(self, sql: str, tokens: list[Token], identifier_params: tuple[str, ...]) -> Statement:
        words = _words(tokens)
        i = 2 if len(tokens) > 2 and tokens[1].text == "INTO" else 1
        if i < len(tokens) and tokens[i].text == "TABLE" and not tokens[i].quoted:
            i += 1
        database = None
        table = tokens[i].text if i < len(tokens) and tokens[i].kind == "word" else None
        if table is not None and i + 2 < len(tokens) and tokens[i + 1].text == "." \
                and tokens[i + 2].kind == "word":
            database, table = table, tokens[i + 2].text
        fmt = next((tokens[j + 1].text for j, t in enumerate(tokens[:-1])
                    if t.kind == "word" and not t.quoted and t.text == "FORMAT"), None)
        has_select = "SELECT" in words or "WITH" in words
        return Statement(sql, True, identifier_params, insert_table=table, insert_database=database,
                         insert_format=fmt, insert_has_select=has_select)
