"""Per-endpoint concurrency: at most N probes in flight on one server at once.

Local servers (Ollama, LM Studio) run one model at a time and time out under parallel
probes, so they default to 1; remote APIs to `prober.endpoint_concurrency`. Targets on the
same scheme, host and port share one limit, the smallest any of them asks for.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from llmhealth.config.model import Config
from llmhealth.config.target import Target


def endpoint_of(target: Target) -> str:
    """`scheme://host:port` of the target's base URL, the key targets share a limit by."""
    url = urlsplit(target.base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{(url.hostname or '').lower()}:{port}"


class EndpointLimits:
    """One semaphore per endpoint, sized when the first target of the endpoint is seen
    (`plan`) from every configured target on it."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._sizes: dict[str, int] = {}
        for target in config.targets:
            key = endpoint_of(target)
            size = config.concurrency_for(target)
            self._sizes[key] = min(size, self._sizes.get(key, size))
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def size(self, target: Target) -> int:
        return self._sizes.get(endpoint_of(target), self._config.concurrency_for(target))

    def slot(self, target: Target) -> asyncio.Semaphore:
        """The semaphore to hold while probing `target` (`async with limits.slot(t): …`)."""
        key = endpoint_of(target)
        semaphore = self._semaphores.get(key)
        if semaphore is None:
            semaphore = self._semaphores[key] = asyncio.Semaphore(self.size(target))
        return semaphore
