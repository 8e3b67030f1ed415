"""The embedded store's statement guard, rule by rule, on statements as the engine formats them
(the guard's input; the engine itself is exercised in tests/embedded/test_store_security.py)."""

from __future__ import annotations

import pytest

from aggregator.store.guard import ACCESS_DENIED, READONLY, Guard, Refused, setting_names
from aggregator.store.sql_tokens import Token, TokenError, tokenize

TABLE_FUNCTIONS = ["file", "url", "remote", "s3", "executable", "python", "merge", "numbers",
                   "values", "view", "format", "generateRandom", "loop", "input"]


@pytest.fixture
def guard() -> Guard:
    return Guard.from_engine(TABLE_FUNCTIONS, "llmhealth")


def _judge(guard: Guard, sql: str, role: str = "default", params: dict | None = None,
           read_only: bool = False) -> int | None:
    """None when served, else the refusal's error code."""
    try:
        statement = guard.statement(sql, lambda text: text)
        guard.check_query(statement, role, params or {}, read_only)  # type: ignore[arg-type]
    except Refused as exc:
        return exc.code
    return None


@pytest.mark.parametrize(("sql", "role"), [
    pytest.param("SELECT target, status FROM health_latest", "reader", id="select"),
    pytest.param("WITH 1 AS x SELECT x", "reader", id="with"),
    pytest.param("(SELECT 1) UNION ALL (SELECT 2)", "reader", id="parenthesised"),
    pytest.param("SHOW TABLES", "reader", id="show"),
    pytest.param("DESCRIBE TABLE health_events", "reader", id="describe"),
    pytest.param("EXPLAIN SELECT 1", "reader", id="explain"),
    pytest.param("SELECT number FROM numbers(10)", "reader", id="numbers"),
    pytest.param("SELECT * FROM view(SELECT 1)", "reader", id="view"),
    pytest.param("SELECT * FROM format(JSONEachRow, '{\"a\": 1}')", "reader", id="inline-format"),
    pytest.param("SELECT 'file(' AS s, `x y` FROM t", "reader", id="function-name-in-string"),
    pytest.param("SELECT x FROM t WHERE x = DEFAULT", "reader", id="default-keyword"),
    pytest.param("SELECT ScopeSchemaUrl FROM otel_metrics_sum WHERE ScopeSchemaUrl = ''", "reader",
                 id="column-named-like-a-setting"),
    pytest.param("CREATE TABLE IF NOT EXISTS x (`a` Int8 DEFAULT 1) ENGINE = MergeTree ORDER BY a "
                 "SETTINGS index_granularity = 8192", "default", id="create-mergetree"),
    pytest.param("CREATE OR REPLACE VIEW v AS SELECT 1", "default", id="create-view"),
    pytest.param("CREATE MATERIALIZED VIEW IF NOT EXISTS m TO t AS SELECT 1", "default", id="create-mv"),
    pytest.param("CREATE DATABASE IF NOT EXISTS d ENGINE = Atomic", "default", id="create-database"),
    pytest.param("ALTER TABLE t MODIFY TTL toDateTime(at) + toIntervalDay(7)", "default", id="alter"),
    pytest.param("DROP TABLE IF EXISTS t", "default", id="drop"),
    pytest.param("INSERT INTO t SETTINGS max_threads = 1 SELECT 1", "default", id="insert-select"),
    pytest.param("SELECT 1 SETTINGS join_use_nulls = 0, max_threads = 2", "default", id="settings"),
])
def test_served(guard: Guard, sql: str, role: str) -> None:
    assert _judge(guard, sql, role) is None


@pytest.mark.parametrize(("sql", "role", "code"), [
    pytest.param("SELECT file('/etc/passwd')", "default", ACCESS_DENIED, id="file-function"),
    pytest.param("SELECT * FROM `file`('/etc/passwd')", "default", ACCESS_DENIED, id="quoted-name"),
    pytest.param("SELECT * FROM FILE('/etc/passwd')", "default", ACCESS_DENIED, id="upper-case-name"),
    pytest.param("SELECT * FROM view(SELECT * FROM url('http://x/', CSV))", "reader", ACCESS_DENIED,
                 id="nested"),
    pytest.param("SELECT * FROM Python(df)", "reader", ACCESS_DENIED, id="python"),
    pytest.param("SELECT * FROM merge('default', '.*')", "reader", ACCESS_DENIED, id="merge"),
    pytest.param("SELECT * FROM input('x Int8')", "default", ACCESS_DENIED, id="input"),
    pytest.param("SELECT * FROM default.`/etc/passwd`", "reader", ACCESS_DENIED, id="filesystem-db"),
    pytest.param("SELECT * FROM `default`.`/etc/passwd`", "reader", ACCESS_DENIED, id="quoted-db"),
    pytest.param("SELECT 1 INTO OUTFILE '/tmp/x'", "default", ACCESS_DENIED, id="outfile"),
    pytest.param("INSERT INTO t FROM INFILE '/etc/passwd' FORMAT CSV", "default", ACCESS_DENIED,
                 id="infile"),
    pytest.param("CREATE TABLE x (a Int8) ENGINE = URL('http://x/', CSV)", "default", ACCESS_DENIED,
                 id="url-engine"),
    pytest.param("CREATE TABLE x (a Int8) ENGINE = Buffer(default, t, 1, 1, 1, 1, 1, 1, 1)",
                 "default", ACCESS_DENIED, id="buffer-engine"),
    pytest.param("CREATE DATABASE d ENGINE = Filesystem('/')", "default", ACCESS_DENIED,
                 id="filesystem-engine"),
    pytest.param("CREATE TABLE x (a Int8) ENGINE = MergeTree ORDER BY a "
                 "SETTINGS disk = disk(type = 'local', path = '/tmp/')", "default", ACCESS_DENIED,
                 id="dynamic-disk"),
    pytest.param("CREATE TEMPORARY TABLE x (a Int8)", "default", ACCESS_DENIED, id="temporary"),
    pytest.param("CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(HTTP(URL 'http://x'))",
                 "default", ACCESS_DENIED, id="dictionary"),
    pytest.param("CREATE FUNCTION f AS x -> x", "default", ACCESS_DENIED, id="function"),
    pytest.param("CREATE USER u", "default", ACCESS_DENIED, id="user"),
    pytest.param("ALTER USER default IDENTIFIED BY 'x'", "default", ACCESS_DENIED, id="alter-user"),
    pytest.param("ALTER TABLE t FREEZE", "default", ACCESS_DENIED, id="freeze"),
    pytest.param("SYSTEM SHUTDOWN", "default", ACCESS_DENIED, id="system"),
    pytest.param("KILL QUERY WHERE 1", "default", ACCESS_DENIED, id="kill"),
    pytest.param("SET max_threads = 1", "default", ACCESS_DENIED, id="set"),
    pytest.param("USE default", "default", ACCESS_DENIED, id="use"),
    pytest.param("BACKUP TABLE t TO Disk('backups', 'x')", "default", ACCESS_DENIED, id="backup"),
    pytest.param("ATTACH TABLE t FROM '/var/lib/x'", "default", ACCESS_DENIED, id="attach"),
    pytest.param("SELECT 1 FORMAT Template SETTINGS format_template_resultset = '/etc/passwd'",
                 "default", ACCESS_DENIED, id="template-setting"),
    pytest.param("INSERT INTO t SETTINGS input_format_values_interpret_expressions = 1 SELECT 1",
                 "default", ACCESS_DENIED, id="values-expressions"),
    pytest.param("INSERT INTO t FORMAT Values", "default", ACCESS_DENIED, id="rows-in-query-text"),
    pytest.param("DROP TABLE t", "reader", READONLY, id="reader-drop"),
    pytest.param("INSERT INTO t SELECT 1", "reader", READONLY, id="reader-insert"),
])
def test_refused(guard: Guard, sql: str, role: str, code: int) -> None:
    assert _judge(guard, sql, role) == code


def test_get_requests_only_read(guard: Guard) -> None:
    assert _judge(guard, "DROP TABLE t", "default", read_only=True) == READONLY
    assert _judge(guard, "SELECT 1", "default", read_only=True) is None


@pytest.mark.parametrize(("value", "served"), [
    ("health_events", True), ("llmhealth.health_events", True), ("default", False),
    ("default.x", False), ("/etc/passwd", False), ("a.b.c", False)])
def test_identifier_parameters(guard: Guard, value: str, served: bool) -> None:
    code = _judge(guard, "SELECT * FROM {t:Identifier}", "reader", {"t": value})
    assert (code is None) == served


@pytest.mark.parametrize(("sql", "role", "fragment"), [
    pytest.param("INSERT INTO otel_metrics_sum (a, b) FORMAT RowBinary", "default", None, id="collector"),
    pytest.param("INSERT INTO llmhealth.otel_metrics_gauge FORMAT JSONEachRow", "default", None,
                 id="qualified"),
    pytest.param("INSERT INTO health_snapshots FORMAT RowBinary", "default", "collector's tables",
                 id="other-table"),
    pytest.param("INSERT INTO other.otel_metrics_sum FORMAT RowBinary", "default", "collector's tables",
                 id="other-database"),
    pytest.param("INSERT INTO otel_metrics_sum FORMAT Values", "default", "input format Values",
                 id="values-format"),
    pytest.param("INSERT INTO otel_metrics_sum FORMAT RowBinary", "reader", "only read", id="reader"),
])
def test_bulk_insert(guard: Guard, sql: str, role: str, fragment: str | None) -> None:
    statement = guard.statement(sql, lambda text: text)
    if fragment is None:
        guard.check_bulk_insert(statement, role)  # type: ignore[arg-type]
        return
    with pytest.raises(Refused, match=fragment):
        guard.check_bulk_insert(statement, role)  # type: ignore[arg-type]


def test_verdicts_are_cached_by_text(guard: Guard) -> None:
    calls: list[str] = []

    def canonical(text: str) -> str:
        calls.append(text)
        return text

    for _ in range(3):
        guard.statement("SELECT 1", canonical)
        with pytest.raises(Refused):
            guard.statement("SELECT file('x')", canonical)
    assert calls == ["SELECT 1", "SELECT file('x')"]


def test_setting_names() -> None:
    tokens = tokenize("SELECT 1 SETTINGS a = 1, b = 'x', c = -2, d = [1, 2], e = {'k': 'v'} FORMAT JSON")
    assert setting_names(tokens) == ["a", "b", "c", "d", "e"]
    assert setting_names(tokenize("ALTER TABLE t MODIFY SETTING ttl_only_drop_parts = 1")) == [
        "ttl_only_drop_parts"]


@pytest.mark.parametrize(("text", "expected"), [
    ("SELECT `a``b`, \"c\", 'd\\'e'", [Token("word", "SELECT"), Token("word", "a`b", quoted=True),
                                        Token("punct", ","), Token("word", "c", quoted=True),
                                        Token("punct", ","), Token("string", "d'e")]),
    ("x /* c /* nested */ */ -- tail\n y", [Token("word", "x"), Token("word", "y")]),
    ("{n:UInt8} <= $$a'b$$", [Token("param", "n", type="UInt8"), Token("punct", "<="),
                              Token("string", "a'b")]),
])
def test_tokenize(text: str, expected: list[Token]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize("text", ["SELECT 'open", "SELECT `open", "/* open", "SELECT $x$ open"])
def test_tokenize_unterminated(text: str) -> None:
    with pytest.raises(TokenError):
        tokenize(text)
