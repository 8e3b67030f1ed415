"""HTTP clients for probes, sharded so that no connection pool grows large.

httpcore scans every connection of a pool on each request, so one client for a thousand
targets costs O(targets) per probe. Each client here serves at most `TARGETS_PER_CLIENT`
targets of one endpoint: pools stay small, targets of one endpoint still share connections
(and HTTP/2 multiplexing on https://), and all clients share one TLS context (loading the CA
bundle once).

Idle connections are dropped after `KEEPALIVE_EXPIRY_S`, under the 5 s that uvicorn-based
servers (vLLM, LiteLLM, the simulator) keep an idle connection open by default: reusing a
connection the server is closing at that moment loses the request, a failure of ours that the
target would be charged with.
"""

from __future__ import annotations

import ssl
from collections import defaultdict

import certifi
import httpx

from llmhealth_config.target import Target
from prober.endpoints import endpoint_of

TARGETS_PER_CLIENT = 32
KEEPALIVE_EXPIRY_S = 4.0


class ClientPool:
    def __init__(self) -> None:
        self._tls = ssl.create_default_context(cafile=certifi.where())
        self._shards: dict[str, list[tuple[httpx.AsyncClient, set[str]]]] = defaultdict(list)

    def client_for(self, target: Target) -> httpx.AsyncClient:
        """The client `target` probes with; the same one for the target's whole life."""
        shards = self._shards[endpoint_of(target)]
        for client, names in shards:
            if target.name in names or len(names) < TARGETS_PER_CLIENT:
                names.add(target.name)
                return client
        # No pool limit: each (target, kind) has at most one request in flight, so
        # connections are bounded and a slow target never makes another wait for the pool.
        # HTTP/2 is only negotiated (ALPN) for https://; plain http:// stays HTTP/1.1.
        client = httpx.AsyncClient(
            http2=True,
            verify=self._tls,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=4 * TARGETS_PER_CLIENT,
                                keepalive_expiry=KEEPALIVE_EXPIRY_S),
        )
        shards.append((client, {target.name}))
        return client

    async def aclose(self) -> None:
        for shards in self._shards.values():
            for client, _ in shards:
                await client.aclose()
        self._shards.clear()
