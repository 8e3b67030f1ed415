"""The embedded store's HTTP endpoint serves llmhealth and the operator, nobody else: every
attack found against it (issue 13) is sent over real HTTP and must fail, while what the parts
and people do (the collector's inserts, `llmhealth status`, a Grafana-style read) still works.
What the guard decides for each statement, statement by statement: tests/unit/test_store_guard."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aggregator import sql
from tests.conftest import migrated_store
from tests.embedded.conftest import PASSWORD, READER_PASSWORD, Endpoint, endpoint_for

pytestmark = pytest.mark.embedded
CANARY = "sk-canary-3f9a1c77e2"
HEAVY = b"SELECT count() FROM numbers(100000000000)"  # runs until the reader's time limit


@pytest.fixture(autouse=True)
def provider_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider key in this process's environment, as `llmhealth run` has it."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)


@pytest.fixture(scope="module")
def shared(engine_dir: Path) -> Iterator[Endpoint]:
    """One endpoint for the tests that change nothing (each attack must leave the store as is)."""
    with migrated_store(engine_dir) as db:
        yield from endpoint_for(db)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on loopback that records whether anyone connected."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(0.5)
        yield sock


def _connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


def test_no_or_wrong_password_is_refused(endpoint: Endpoint) -> None:
    for auth in (None, ("default", "guess"), ("reader", PASSWORD), ("admin", PASSWORD)):
        response = httpx.post(endpoint.url, content=b"SELECT 1", auth=auth)
        assert response.status_code == 403, auth
        assert response.headers["x-clickhouse-exception-code"] == "516"
        assert PASSWORD not in response.text


@pytest.mark.parametrize("how", ["basic", "headers", "url"])
def test_each_clickhouse_way_to_log_in(endpoint: Endpoint, how: str) -> None:
    kwargs: dict = {"content": b"SELECT currentDatabase()"}
    if how == "basic":
        token = base64.b64encode(f"reader:{READER_PASSWORD}".encode()).decode()
        kwargs["headers"] = {"Authorization": f"Basic {token}"}
    elif how == "headers":
        kwargs["headers"] = {"X-ClickHouse-User": "reader", "X-ClickHouse-Key": READER_PASSWORD}
    else:
        kwargs["params"] = {"user": "reader", "password": READER_PASSWORD}
    response = httpx.post(endpoint.url, **kwargs)
    assert response.status_code == 200, response.text


def test_cross_origin_browser_post_is_refused_even_with_credentials(endpoint: Endpoint) -> None:
    # A web page's "simple" request: text/plain body, the page's Origin; it carried a DROP.
    headers = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    response = endpoint.default.post("/", content=b"DROP TABLE health_events", headers=headers)
    assert response.status_code == 403 and "web browsers" in response.text
    same_site = endpoint.default.post("/", content=b"SELECT 1", headers={"Sec-Fetch-Site": "none"})
    assert same_site.status_code == 403
    assert endpoint.default.post("/", content=b"EXISTS TABLE health_events").text == "1\n"


def test_dns_rebinding_host_is_refused(endpoint: Endpoint) -> None:
    port = endpoint.url.rsplit(":", 1)[1]
    response = endpoint.default.post("/", content=b"SELECT 1", headers={"Host": f"evil.example:{port}"})
    assert response.status_code == 403 and "store.http_allowed_hosts" in response.text
    assert endpoint.default.post("/", content=b"SELECT 1", headers={"Host": f"localhost:{port}"}).text == "1\n"


@pytest.mark.parametrize("client", ["default", "reader"])
@pytest.mark.parametrize("attack", [
    pytest.param("SELECT file('/proc/self/environ')", id="file-function"),
    pytest.param("SELECT * FROM file('/proc/self/environ', 'LineAsString')", id="file-table-function"),
    pytest.param("SELECT * FROM default.`/proc/self/environ`", id="filesystem-database"),
    pytest.param("SELECT * FROM `default`.`/etc/passwd`", id="filesystem-database-quoted"),
    pytest.param("SELECT * FROM Python(os)", id="python-objects"),
    pytest.param("SELECT * FROM executable('env', 'TSV', 'line String')", id="executable"),
    pytest.param("SELECT * FROM remote('127.0.0.1', system.one)", id="remote"),
    pytest.param("SELECT * FROM s3('http://127.0.0.1:1/b/k', 'CSV')", id="s3"),
    pytest.param("SELECT * FROM mysql('127.0.0.1:1', 'd', 't', 'u', 'p')", id="mysql"),
    pytest.param("SELECT * FROM postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')", id="postgresql"),
    pytest.param("SELECT * FROM merge('default', '.*')", id="merge-other-databases"),
    pytest.param("SELECT 1 FORMAT Template SETTINGS format_template_resultset = '/etc/passwd'",
                 id="template-file-setting"),
    pytest.param("SYSTEM SHUTDOWN", id="system"),
    pytest.param("SET readonly = 0", id="set"),
    pytest.param("USE default", id="use"),
    pytest.param("CREATE DATABASE files ENGINE = Filesystem('/')", id="filesystem-engine"),
    pytest.param("CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k "
                 "SOURCE(HTTP(URL 'http://127.0.0.1:1/' FORMAT 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
                 id="dictionary-from-outside"),
    pytest.param("BACKUP TABLE health_events TO File('/tmp/llmhealth-backup')", id="backup"),
])
def test_nothing_reaches_outside_the_store(shared: Endpoint, client: str, attack: str) -> None:
    response = getattr(shared, client).post("/", content=attack.encode())
    assert response.status_code == 403, response.text
    assert CANARY not in response.text and "root:" not in response.text


def test_url_function_sends_nothing(endpoint: Endpoint, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    attack = f"SELECT * FROM url('http://127.0.0.1:{port}/steal?k=' || getSetting('readonly'), 'CSV')"
    insert = f"INSERT INTO FUNCTION url('http://127.0.0.1:{port}/', 'CSV', 'x String') SELECT 'k'"
    for statement in (attack, insert):
        assert endpoint.default.post("/", content=statement.encode()).status_code == 403
    assert not _connected(listener)


def test_no_file_is_written(endpoint: Endpoint, tmp_path: Path) -> None:
    target = tmp_path / "written.csv"
    for statement in (f"INSERT INTO FUNCTION file('{target}', 'CSV', 'x String') SELECT 'k'",
                      f"SELECT 1 INTO OUTFILE '{target}'",
                      f"CREATE TABLE leak (x String) ENGINE = File(CSV, '{target}')"):
        assert endpoint.default.post("/", content=statement.encode()).status_code == 403, statement
    assert not target.exists()


def test_rows_cannot_smuggle_a_second_statement(store, endpoint: Endpoint) -> None:
    store.execute("CREATE TABLE otel_metrics_victim (x Int32) ENGINE = MergeTree ORDER BY x")
    for text in ("INSERT INTO otel_metrics_victim VALUES (1); DROP TABLE otel_metrics_victim",
                 "SELECT 1; DROP TABLE otel_metrics_victim"):
        assert endpoint.default.post("/", content=text.encode()).status_code in (400, 403)
    smuggled = endpoint.default.post("/", params={"query": "INSERT INTO otel_metrics_victim FORMAT Values"},
                                     content=b"(file('/etc/passwd'))")
    assert smuggled.status_code == 403
    assert store.rows("SELECT count() AS n FROM otel_metrics_victim") == [{"n": 0}]


def test_reader_only_reads_and_get_only_reads(store, endpoint: Endpoint) -> None:
    drop = endpoint.reader.post("/", content=b"DROP TABLE health_events")
    assert (drop.status_code, drop.headers["x-clickhouse-exception-code"]) == (403, "164")
    assert endpoint.default.get("/", params={"query": "DROP TABLE health_events"}).status_code == 403
    insert = endpoint.reader.post("/", params={"query": "INSERT INTO otel_metrics_sum FORMAT RowBinary"},
                                  content=b"\x00")
    assert insert.status_code == 403
    assert store.rows("EXISTS TABLE health_events") == [{"result": 1}]


def test_bulk_inserts_only_into_the_collector_tables(store, endpoint: Endpoint) -> None:
    response = endpoint.default.post("/", params={"query": "INSERT INTO health_events FORMAT JSONEachRow"},
                                     content=b'{"target": "forged"}\n')
    assert response.status_code == 403 and "otel_metrics_" in response.text
    assert store.rows("SELECT count() AS n FROM health_events") == [{"n": 0}]


def test_identifier_parameters_cannot_name_the_file_system(endpoint: Endpoint) -> None:
    response = endpoint.reader.post("/", params={"param_t": "default./etc/passwd"},
                                    content=b"SELECT * FROM {t:Identifier}")
    assert response.status_code == 403
    ok = endpoint.reader.post("/", params={"param_t": "health_events"},
                              content=b"SELECT count() FROM {t:Identifier}")
    assert ok.text == "0\n"


def test_database_default_is_not_served(endpoint: Endpoint) -> None:
    response = endpoint.reader.post("/", params={"database": "default"},
                                    content=b"SELECT count() FROM `/etc/passwd`")
    assert response.status_code == 403 and "root" not in response.text


def test_reader_cannot_lift_its_limits(endpoint: Endpoint) -> None:
    response = endpoint.reader.post("/", content=b"SELECT 1 SETTINGS max_execution_time = 0")
    assert response.status_code == 403 and "readonly" in response.text
    slow = endpoint.reader.post("/", content=HEAVY)
    assert slow.status_code == 500 and "TIMEOUT_EXCEEDED" in slow.text  # the fixture's 5 s


def test_grafana_style_read_works(store, endpoint: Endpoint) -> None:
    # What the Grafana ClickHouse datasource sends over HTTP: basic auth, the database, the
    # panel's SQL with its macros expanded, JSON out.
    panel = ("SELECT toStartOfInterval(evaluated_at, INTERVAL 60 second) AS time, count() AS n "
             "FROM health_snapshots WHERE evaluated_at >= toDateTime(1733000000) "
             "AND evaluated_at <= toDateTime(1893456000) GROUP BY time ORDER BY time")
    response = endpoint.reader.post("/", params={"database": store.database, "default_format": "JSON"},
                                    content=panel.encode())
    assert response.status_code == 200, response.text
    assert response.json()["meta"][0]["name"] == "time"
    status = endpoint.reader.post("/", params={"default_format": "JSONEachRow"},
                                  content=sql.query("latest_status").encode())
    assert status.status_code == 200, status.text


def _start_heavy_reads(endpoint: Endpoint, n: int) -> list[threading.Thread]:
    """`n` reads that run until the reader's time limit, started and seen running."""
    threads = [threading.Thread(target=endpoint.reader.post, args=("/",), kwargs={"content": HEAVY})
               for _ in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    running = "SELECT count() FROM system.processes WHERE query LIKE '%numbers(100000000000)%' " \
              "AND query NOT LIKE '%system.processes%'"
    while int(endpoint.default.post("/", content=running.encode()).text) < n:
        assert time.monotonic() < deadline, "the heavy reads did not start"
        time.sleep(0.05)
    return threads


def test_a_heavy_read_does_not_hold_up_inserts(store, endpoint: Endpoint) -> None:
    store.execute("CREATE TABLE otel_metrics_kv (k String) ENGINE = MergeTree ORDER BY k")
    [heavy] = _start_heavy_reads(endpoint, 1)
    try:
        for i in range(5):
            response = endpoint.default.post("/", params={"query": "INSERT INTO otel_metrics_kv FORMAT JSONEachRow"},
                                             content=f'{{"k": "{i}"}}\n'.encode())
            assert response.status_code == 200
        assert heavy.is_alive()  # every insert finished while the read was still running
    finally:
        heavy.join()
    assert store.rows("SELECT count() AS n FROM otel_metrics_kv") == [{"n": 5}]


def test_reader_queue_is_bounded(endpoint: Endpoint) -> None:
    # The fixture's reader lane: 2 sessions, 2 s wait. Two slow reads hold both; a third is told.
    slow = _start_heavy_reads(endpoint, 2)
    try:
        third = endpoint.reader.post("/", content=b"SELECT 1")
        assert third.status_code == 503 and third.headers["x-clickhouse-exception-code"] == "202"
        assert endpoint.default.post("/", content=b"SELECT 1").text == "1\n"  # the parts' lane is free
    finally:
        for thread in slow:
            thread.join()
