"""ServerStore: a ClickHouse server over the native protocol (clickhouse-driver).

Parameters are sent to the server and bound there (`server_side_params`), exactly like
chDB binds them, so the SQL files are the same for both stores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError
from clickhouse_driver.errors import NetworkError, SocketTimeoutError

from aggregator.store.base import Store, StoreError

# The driver logs every failed connection attempt with its traceback; the StoreError says it.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.CRITICAL)
# AUTHENTICATION_FAILED, UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD
_LOGIN_CODES = {516, 192, 193, 194}


class ServerStore(Store):
    def __init__(self, host: str, port: int, user: str, password: str, database: str, *,
                 where: str, password_hint: str) -> None:
        self.database = database
        self._where = where
        self._user = user
        self._password_hint = password_hint
        self._lock = threading.Lock()
        settings = {"server_side_params": True}
        self._client = Client(host=host, port=port, user=user, password=password,
                              database=database, settings=settings)
        self._default = Client(host=host, port=port, user=user, password=password,
                               database="default", settings=settings)

    def _run(self, client: Client, sql: str, params: Mapping[str, Any] | None,
             with_types: bool = False) -> Any:
        try:
            with self._lock:
                return client.execute(sql, dict(params or {}), with_column_types=with_types)
        except (NetworkError, SocketTimeoutError) as exc:
            raise StoreError(f"{self._where} is unreachable ({exc.message}); check the URL and "
                             "that the server is running") from None
        except DriverError as exc:
            if getattr(exc, "code", None) in _LOGIN_CODES:
                raise StoreError(f"{self._where} refused the login of user {self._user!r}: wrong "
                                 f"user or password ({self._password_hint})") from None
            raise StoreError(f"{self._where}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"{self._where} is unreachable ({exc}); check the URL and that the "
                             "server is running") from None

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(self._client, sql, params)

    def execute_in_default(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(self._default, sql, params)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        data, columns = self._run(self._client, sql, params, with_types=True)
        names = [name for name, _type in columns]
        return [dict(zip(names, row)) for row in data]

    def close(self) -> None:
        self._client.disconnect()
        self._default.disconnect()
