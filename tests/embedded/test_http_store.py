"""HttpStore, the store behind an http(s):// `store.url`, against the embedded store's real
endpoint: the same SQL as in process, and a one-line StoreError that says what to do for a
wrong password, a schema older or newer than the code, and a changed migration."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.migrate import SchemaMismatch, check_schema, migrate
from aggregator.store.base import StoreError
from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http import HttpStore
from llmhealth_config.model import RetentionSettings
from tests.embedded.conftest import PASSWORD, endpoint_for

pytestmark = pytest.mark.embedded


def http_store(url: str, database: str, password: str = PASSWORD) -> HttpStore:
    return HttpStore(url, "default", password, database, where="the test store",
                     password_hint="set TEST_PASSWORD")


@pytest.fixture
def over_http(store: EmbeddedStore) -> Iterator[HttpStore]:
    for endpoint in endpoint_for(store):
        client = http_store(endpoint.url, store.database)
        yield client
        client.close()


def test_the_same_sql_and_rows_as_in_process(store: EmbeddedStore, over_http: HttpStore) -> None:
    sql = "SELECT {n:UInt32} + 1 AS n, {s:String} AS s, [1, 2] AS a, toDateTime64({t:Float64}, 3, 'UTC') AS t"
    params = {"n": 41, "s": "tab\there 'quoted'", "t": 1.5}
    assert over_http.rows(sql, params) == store.rows(sql, params)
    over_http.execute("CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = Memory")
    over_http.execute("INSERT INTO t SELECT {x:UInt8}", {"x": 7})
    assert store.rows("SELECT x FROM t") == [{"x": 7}]


def test_wrong_password_names_the_user_and_what_to_set(store: EmbeddedStore) -> None:
    for endpoint in endpoint_for(store):
        client = http_store(endpoint.url, store.database, "not-the-password")
        with pytest.raises(StoreError) as raised:
            client.rows("SELECT 1")
        client.close()
    text = str(raised.value)
    assert text == ("the test store refused the login of user 'default': wrong user or "
                    "password (set TEST_PASSWORD)")


def test_an_engine_error_is_clickhouses_text(over_http: HttpStore) -> None:
    with pytest.raises(StoreError, match=r"^the test store: Code: 60\..*no_such_table"):
        over_http.rows("SELECT * FROM no_such_table")


def test_an_unmigrated_store_is_older(engine_dir: Path) -> None:
    fresh = EmbeddedStore(engine_dir, f"t_{uuid.uuid4().hex[:12]}")
    try:
        fresh.ensure_database()
        with pytest.raises(SchemaMismatch, match=r"older than this version .* from 0001_.*run "
                                                 r"`llmhealth migrate`"):
            check_schema(fresh)
    finally:
        fresh.execute_in_default("DROP DATABASE IF EXISTS {db:Identifier}", {"db": fresh.database})
        fresh.close()


def test_a_schema_from_a_newer_version_is_refused(store: EmbeddedStore,
                                                  over_http: HttpStore) -> None:
    check_schema(over_http)  # migrated by this version: no error
    store.execute("INSERT INTO schema_migrations (version, name, applied_at, checksum) "
                  "VALUES (9999, 'from_the_future', now64(3), 'x')")
    for check in (lambda: check_schema(over_http),
                  lambda: migrate(over_http, RetentionSettings())):
        with pytest.raises(SchemaMismatch, match=r"newer than this version of llmhealth \(it has "
                                                 r"migration 9999, this version ends at 00\d\d\)"):
            check()
