"""A target's `passive:` selector: which applications' requests (passive traffic, OTLP GenAI
metrics of other services) count for the target.

Each part left out takes the target's own value (its provider and the provider names the SDKs
of its protocol report, its model, the server of its `base_url`); the aggregator resolves them
(aggregator/passive_match.py). A request counts for one target at most.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from llmhealth_config.types import Strict

_SERVER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")


def _server(value: str) -> str:
    """`host` or `host:port` (IPv6 in brackets), as an application's `server.address` and
    `server.port` name it; lower-cased."""
    match = _SERVER.match(value)
    if not match or (match.group(2) and not 1 <= int(match.group(2)[1:]) <= 65535):
        raise ValueError(f"invalid server {value!r}: use host or host:port, e.g. "
                         "api.openai.com, 10.0.0.5:8000 or [::1]:11434")
    return value.lower()


Name = Annotated[str, Field(min_length=1, max_length=256)]


class PassiveSelector(Strict):
    """Which requests of applications count for this target (docs/configuration.md, "Passive
    traffic"). `None` means the target's own value; `servers` given explicitly also refuses
    requests that name no server."""

    enabled: bool = True
    providers: list[Name] | None = None
    models: list[Name] | None = None
    servers: list[Annotated[str, AfterValidator(_server)]] | None = None
    services: list[Name] | None = None
    exclude_services: list[Name] = []
