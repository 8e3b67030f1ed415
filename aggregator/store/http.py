"""HttpStore: a ClickHouse server, or the embedded store's endpoint, over the HTTP interface.

The statement goes in the body, its `{name:Type}` parameters as `param_<name>` in the URL in
ClickHouse's text form (params.encode_params, the same text chDB takes), so the SQL files
are the same as for the other stores; rows come back as JSONEachRow, as the embedded store
reads them. The password is sent as HTTP basic auth and never appears in a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from aggregator.store.base import Store, StoreError
from aggregator.store.params import encode_params

CONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_S = 300.0
# ClickHouse's exception codes for a refused login (AUTHENTICATION_FAILED, UNKNOWN_USER,
# WRONG_PASSWORD, REQUIRED_PASSWORD), as sent in X-ClickHouse-Exception-Code.
_LOGIN_CODES = {"516", "192", "193", "194"}


class HttpStore(Store):
    """`url` is `http(s)://host:port/` without credentials; `where` names it in messages
    (with the setting that chose it); `password_hint` says where the password comes from."""

    def __init__(self, url: str, user: str, password: str, database: str, *, where: str,
                 password_hint: str) -> None:
        self.database = database
        self._where = where
        self._user = user
        self._password_hint = password_hint
        self._client = httpx.Client(
            base_url=url, auth=httpx.BasicAuth(user, password),
            timeout=httpx.Timeout(STATEMENT_TIMEOUT_S, connect=CONNECT_TIMEOUT_S))

    def _post(self, sql: str, params: Mapping[str, Any] | None, database: str | None,
              fmt: str) -> bytes:
        query = {**({"database": database} if database else {}), "default_format": fmt,
                 **{f"param_{name}": text for name, text in encode_params(params).items()}}
        try:
            response = self._client.post("/", params=query, content=sql.encode("utf-8"))
        except httpx.TimeoutException as exc:
            raise StoreError(f"{self._where}: no answer within the time allowed "
                             f"({type(exc).__name__}); check that the store is running and not "
                             "overloaded") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"{self._where} is unreachable ({type(exc).__name__}: {exc}); check "
                             "the URL and that the store is running") from None
        if response.status_code == 200:
            return response.content
        code = response.headers.get("x-clickhouse-exception-code", "")
        if response.status_code == 401 or code in _LOGIN_CODES:
            raise StoreError(f"{self._where} refused the login of user {self._user!r}: wrong user "
                             f"or password ({self._password_hint})")
        text = response.text.strip() or f"HTTP {response.status_code}"
        raise StoreError(f"{self._where}: {text}")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._post(sql, params, self.database, "TabSeparated")

    def execute_in_default(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._post(sql, params, None, "TabSeparated")  # the server's default database

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        out = self._post(sql, params, self.database, "JSONEachRow")
        return [json.loads(line) for line in out.splitlines() if line]

    def close(self) -> None:
        self._client.close()
