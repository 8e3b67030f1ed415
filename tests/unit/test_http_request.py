"""The embedded store's HTTP endpoint: how a request is understood (no engine involved)."""

from __future__ import annotations

import pytest

from aggregator.store.http_request import ParsedRequest, RequestError, parse_request

ROTEL_INSERT = ("INSERT INTO otel_metrics_sum (ResourceAttributes,ServiceName,Exemplars.Value) "
                "FORMAT RowBinary")


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), [
    pytest.param("GET", "/ping", {}, b"", ParsedRequest(kind="ping"), id="ping"),
    pytest.param("GET", "/", {}, b"", ParsedRequest(kind="ping"), id="root-without-query"),
    pytest.param("GET", "/", {"query": "SELECT 1"}, b"",
                 ParsedRequest(kind="query", sql="SELECT 1", read_only=True), id="select-in-url"),
    pytest.param("POST", "/", {"query": "SELECT 1", "readonly": "1"}, b"",
                 ParsedRequest(kind="query", sql="SELECT 1", read_only=True), id="readonly-parameter"),
    pytest.param("POST", "/", {}, b"SELECT 1 FORMAT JSON",
                 ParsedRequest(kind="query", sql="SELECT 1 FORMAT JSON"), id="select-in-body"),
    pytest.param("POST", "/", {"query": "SELECT"}, b"1",
                 ParsedRequest(kind="query", sql="SELECT\n1"), id="url-then-body"),
    pytest.param("POST", "/", {"query": ROTEL_INSERT, "database": "llmhealth", "async_insert": "1"},
                 b"\x00\x01binary", ParsedRequest(
                     kind="insert", sql=ROTEL_INSERT.rsplit(" FORMAT", 1)[0],
                     input_format="RowBinary", database="llmhealth"), id="rotel-rowbinary-insert"),
    pytest.param("POST", "/", {"query": "insert into t format JSONEachRow"}, b'{"a":1}',
                 ParsedRequest(kind="insert", sql="insert into t", input_format="JSONEachRow"),
                 id="lowercase-insert"),
    pytest.param("POST", "/", {}, b"INSERT INTO t FORMAT JSONEachRow {\"a\":1}",
                 ParsedRequest(kind="query", sql="INSERT INTO t FORMAT JSONEachRow {\"a\":1}"),
                 id="insert-with-inline-data"),
    pytest.param("GET", "/", {"query": "SELECT {x:UInt8}", "param_x": "7",
                              "default_format": "JSONEachRow"},
                 b"", ParsedRequest(kind="query", sql="SELECT {x:UInt8}", params={"x": "7"},
                                    default_format="JSONEachRow", read_only=True),
                 id="parameters-and-format"),
])
def test_parse(method: str, path: str, query: dict, body: bytes, expected: ParsedRequest) -> None:
    assert parse_request(method, path, query, body, True) == expected


@pytest.mark.parametrize(("method", "path", "query", "body", "complete", "message"), [
    pytest.param("GET", "/play", {}, b"", True, "unknown path '/play'", id="unknown-path"),
    pytest.param("PUT", "/", {"query": "SELECT 1"}, b"", True, "method PUT not allowed", id="method"),
    pytest.param("GET", "/", {"query": "SELECT 1", "database": "x; DROP"}, b"", True,
                 "invalid database name", id="bad-database"),
    pytest.param("POST", "/", {"query": "INSERT INTO t FORMAT RowBinary", "decompress": "1"}, b"",
                 True, "compression none", id="compressed-body"),
    pytest.param("GET", "/", {"query": "SELECT 1", "max_threads": "1"}, b"", True,
                 "setting 'max_threads' is not supported", id="unsupported-setting"),
    pytest.param("POST", "/", {}, b"", True, "empty query", id="empty"),
    pytest.param("POST", "/", {}, b"\xff\xfe", True, "not UTF-8", id="binary-without-insert"),
    pytest.param("POST", "/", {}, b"SELECT 1", False, "must be an INSERT", id="huge-query-body"),
])
def test_rejects(method: str, path: str, query: dict, body: bytes, complete: bool,
                 message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_request(method, path, query, body, complete)
