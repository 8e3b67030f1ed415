"""Open the store the configuration names: embedded (chDB) or a ClickHouse server (`store.mode`)."""

from __future__ import annotations

import os

from aggregator.store.base import Store, StoreError
from llmhealth.config.model import Config


def open_store(config: Config) -> Store:
    if config.store.mode == "embedded":
        from aggregator.store.embedded import EmbeddedStore

        return EmbeddedStore(config.store.data_dir, config.store.database)
    from aggregator.store.server import ServerStore

    server = config.store.server
    password = ""
    if server.password_env:
        if server.password_env not in os.environ:
            raise StoreError(f"store.server.password_env names {server.password_env}, which is "
                             "not set in the environment")
        password = os.environ[server.password_env]
    return ServerStore(server.host, server.port, server.user, password, config.store.database)
