"""Open the store the configuration names.

`store.url` unset: the embedded store (chDB) in `store.data_dir`, opened in this process
(`open_store`) or, from a process that does not own it, over its HTTP endpoint on this
machine (`connect_store`). `store.url` set: a ClickHouse server (or an embedded store's
endpoint elsewhere) over HTTP(S) or the native protocol, with the password from the variable
named by `store.password_env`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aggregator.store.base import Store, StoreError
from aggregator.store.password import default_password
from llmhealth_config.model import Config
from llmhealth_config.store_url import parse_store_url


def open_store(config: Config) -> Store:
    """The embedded store in this process when `store.url` is unset, else `connect_store`."""
    if config.store.url is None:
        from aggregator.store.embedded import EmbeddedStore

        return EmbeddedStore(config.store.data_dir, config.store.database)
    return connect_store(config)


def store_password(config: Config, environ: Mapping[str, str] = os.environ) -> str:
    """User's password for the store: the variable named by store.password_env; for the
    embedded store of this machine, else its data dir's file; else none (empty)."""
    settings = config.store
    if settings.url is None:  # the embedded store here: its variable, else its data dir's file
        return default_password(settings, generate=False, environ=environ)
    value = environ.get(settings.password_env)
    if value is not None and not value.strip():
        raise StoreError(f"{settings.password_env} (named by store.password_env) is set but "
                         "empty: set the store's password or unset it")
    return value or ""


def connect_store(config: Config, environ: Mapping[str, str] = os.environ) -> Store:
    """The store over the network: `store.url`, else the embedded store's local endpoint."""
    settings = config.store
    url = parse_store_url(settings.endpoint_url)
    password = store_password(config, environ)
    setting = "store.url" if settings.url else "the embedded store's endpoint (store.http_port)"
    where = f"store {url.safe} ({setting})"
    hint = f"set {settings.password_env}, named by store.password_env"
    if url.scheme == "clickhouse":
        from aggregator.store.server import ServerStore

        return ServerStore(url.host, url.port, url.user, password, settings.database,
                           where=where, password_hint=hint)
    from aggregator.store.http import HttpStore

    return HttpStore(url.endpoint, url.user, password, settings.database, where=where,
                     password_hint=hint)
