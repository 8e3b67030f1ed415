"""The embedded store's ClickHouse HTTP endpoint, over real HTTP, as user default (the
collector's and the CLI's) unless a test says otherwise. What it refuses: test_store_security."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.embedded.conftest import Endpoint

pytestmark = pytest.mark.embedded
TABLE = "CREATE TABLE otel_metrics_kv (k String, v UInt32) ENGINE = MergeTree ORDER BY k"


def _rowbinary(rows: list[tuple[str, int]]) -> bytes:
    out = b""
    for key, value in rows:
        data = key.encode()
        out += bytes([len(data)]) + data + struct.pack("<I", value)  # LEB128 length < 128
    return out


def test_ping_needs_no_password(endpoint: Endpoint) -> None:
    assert httpx.get(f"{endpoint.url}/ping").text == "Ok.\n"


@pytest.mark.parametrize(("params", "body", "expected"), [
    pytest.param({"query": "SELECT 1 AS x, 'a' AS y"}, None, "1\ta\n", id="tsv-default"),
    pytest.param({"query": "SELECT 1 AS x FORMAT JSONEachRow"}, None, '{"x":1}\n', id="format-clause"),
    pytest.param({"query": "SELECT 1 AS x", "default_format": "JSONEachRow"}, None, '{"x":1}\n',
                 id="default-format"),
    pytest.param({"query": "SELECT {n:UInt8} + 1", "param_n": "41"}, None, "42\n", id="parameter"),
    pytest.param({}, b"SELECT 2 + 2", "4\n", id="query-in-body"),
    pytest.param({"query": "SELECT currentDatabase()", "database": "system"}, None, "system\n",
                 id="database-parameter"),
])
def test_select(endpoint: Endpoint, params: dict, body: bytes | None, expected: str) -> None:
    client = endpoint.default
    response = client.post("/", params=params, content=body) if body else client.get("/", params=params)
    assert (response.status_code, response.text) == (200, expected)


def test_json_format_has_meta(endpoint: Endpoint) -> None:
    response = endpoint.reader.get("/", params={"query": "SELECT 1 AS x FORMAT JSON"})
    assert response.json()["data"] == [{"x": 1}] and response.json()["meta"][0]["name"] == "x"


def test_insert_rowbinary_and_jsoneachrow(store, endpoint: Endpoint) -> None:
    store.execute(TABLE)
    db = {"database": store.database}
    r1 = endpoint.default.post("/", params={**db, "query": "INSERT INTO otel_metrics_kv (k, v) FORMAT RowBinary",
                                      "async_insert": "1"}, content=_rowbinary([("a", 1), ("b", 2)]))
    r2 = endpoint.default.post("/", params={**db, "query": "INSERT INTO otel_metrics_kv FORMAT JSONEachRow"},
                    content=b'{"k":"c","v":3}\n{"k":"d","v":4}\n')
    assert (r1.status_code, r2.status_code) == (200, 200)
    assert '"written_rows":"2"' in r1.headers["x-clickhouse-summary"]
    assert store.rows("SELECT k, v FROM otel_metrics_kv ORDER BY k") == [
        {"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "c", "v": 3}, {"k": "d", "v": 4}]


def test_chunked_insert_streams(store, endpoint: Endpoint) -> None:
    store.execute(TABLE)
    rows = [(f"key{i:05d}", i) for i in range(20_000)]
    payload = _rowbinary(rows)

    def chunks():
        for start in range(0, len(payload), 4096):
            yield payload[start:start + 4096]

    response = endpoint.default.post("/", params={"database": store.database,
                                            "query": "INSERT INTO otel_metrics_kv FORMAT RowBinary"}, content=chunks())
    assert response.status_code == 200, response.text
    assert store.rows("SELECT count() AS n, sum(v) AS s FROM otel_metrics_kv") == [{"n": 20_000, "s": sum(range(20_000))}]


@pytest.mark.parametrize(("params", "body", "status", "text"), [
    pytest.param({"query": "SELECT nosuch"}, None, 500, "Code: 47. DB::Exception: Unknown expression "
                 "identifier `nosuch`", id="engine-error"),
    pytest.param({"query": "INSERT INTO otel_metrics_nosuch FORMAT JSONEachRow"}, b"{}", 500,
                 "UNKNOWN_TABLE",
                 id="insert-unknown-table"),
    pytest.param({"query": "SELECT 1", "max_threads": "2"}, None, 400, "not supported",
                 id="unsupported-setting"),
])
def test_errors(endpoint: Endpoint, params: dict, body: bytes | None, status: int, text: str) -> None:
    client = endpoint.default
    response = client.post("/", params=params, content=body) if body else client.get("/", params=params)
    assert response.status_code == status and text in response.text
    assert response.headers["x-clickhouse-exception-code"].isdigit()


def test_malformed_rows_write_nothing(store, endpoint: Endpoint) -> None:
    store.execute(TABLE)
    response = endpoint.default.post("/", params={"database": store.database,
                                            "query": "INSERT INTO otel_metrics_kv FORMAT JSONEachRow"},
                          content=b'{"k":"a","v":1}\n{"k":"b","v":"not a number"}\n')
    assert response.status_code == 500 and "DB::Exception" in response.text
    assert store.rows("SELECT count() AS n FROM otel_metrics_kv") == [{"n": 0}]


def test_insert_over_limit_rejected(store, endpoint: Endpoint) -> None:
    store.execute(TABLE)
    response = endpoint.default.post("/", params={"database": store.database,
                                            "query": "INSERT INTO otel_metrics_kv FORMAT RowBinary"},
                          content=_rowbinary([("x" * 100, 1)] * 20_000))
    assert response.status_code == 400 and "max_insert_bytes" in response.text
    assert store.rows("SELECT count() AS n FROM otel_metrics_kv") == [{"n": 0}]


def test_concurrent_inserts_and_selects(store, endpoint: Endpoint) -> None:
    store.execute(TABLE)

    def insert(i: int) -> int:
        return endpoint.default.post("/", params={"database": store.database,
                                            "query": "INSERT INTO otel_metrics_kv FORMAT RowBinary"},
                          content=_rowbinary([(f"w{i}-{j}", 1) for j in range(100)])).status_code

    def select(_: int) -> int:
        return endpoint.default.get("/", params={"database": store.database,
                                           "query": "SELECT count() FROM otel_metrics_kv"}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(insert, range(40))) + list(pool.map(select, range(40)))
    assert set(statuses) == {200}
    assert store.rows("SELECT count() AS n FROM otel_metrics_kv") == [{"n": 4_000}]
