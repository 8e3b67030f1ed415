"""Which target an application's request counts for (passive traffic): a request source
(service, provider, request model, server address and port) is matched against every
target's `passive:` selector, with its parts defaulted from the target (docs/configuration.md,
"Passive traffic").

A target accepts a source when the provider, the model and the service are its own; then
- a source that names its server counts only where that server is the target's: traffic to
  another server never counts against a target;
- a source that names no server (some instrumentations send none) may count for any accepting
  target that did not list `servers` explicitly.
A source counts for the one target left, and for none when several are left (`candidates`
names them, in the unmatched view, until a selector settles it) or none is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from llmhealth_config.target import Target

SDK_PROVIDERS = {
    "openai": ("openai",),
    "azure": ("azure.ai.openai", "az.ai.openai", "openai"),
    "anthropic": ("anthropic",),
    "ollama": ("ollama", "openai"),
    "lmstudio": ("lmstudio", "openai"),
    "http": (),
}
"""The `gen_ai.provider.name` (or `gen_ai.system`) that applications' instrumentations report
when they call an API of each protocol: an OpenAI-compatible gateway, vLLM or Ollama's /v1
called with the `openai` SDK is reported as `openai`, whatever the target's `provider`."""

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class Source:
    """One request source as stored (health_passive_points): `key` is its `source` column."""

    key: int
    service: str
    provider: str
    model: str
    address: str
    port: str


@dataclass(frozen=True)
class Match:
    """The target a source counts for ('' for none) and, when it counts for none although
    several targets accept it, those targets."""

    target: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    """A target's selector with every part resolved."""

    target: str
    providers: frozenset[str]
    models: frozenset[str]
    servers: frozenset[tuple[str, str]]
    explicit_servers: bool
    services: frozenset[str] | None
    exclude_services: frozenset[str]

    def accepts(self, source: Source) -> bool:
        """Provider, model and service are this target's (the server is judged apart)."""
        return (source.provider in self.providers
                and _model(source.model) in self.models
                and (self.services is None or source.service in self.services)
                and source.service not in self.exclude_services)

    def serves(self, source: Source) -> bool:
        """The source's server is one of this target's (a port left out matches any)."""
        address = _host(source.address)
        return any(address == host and (not port or port == (source.port or _implied(port)))
                   for host, port in self.servers)


def _model(name: str) -> str:
    """Ollama's default tag is implied: `llama3.2` and `llama3.2:latest` are one model."""
    return name.removesuffix(":latest")


def _host(address: str) -> str:
    host = address.lower().strip("[]")
    return "loopback" if host in LOOPBACK or f"[{host}]" in LOOPBACK else host


def _implied(port: str) -> str:
    """The port a source that names none called: instrumentations leave out 443 (and 80)."""
    return port if port in DEFAULT_PORTS.values() else ""


def _server(entry: str) -> tuple[str, str]:
    """(host, port) of a selector's `host` or `host:port` ('' port: any)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return _host(host), rest.removeprefix(":")
    host, _, port = entry.partition(":")
    return _host(host), port


def selection(name: str, target: Target) -> Selection | None:
    """The resolved selector of the target evaluated as `name` (a discovered model's name is
    `<endpoint>/<model>`), or None when it takes no passive traffic (disabled, no model)."""
    selector = target.passive
    discovered = target.discover and name.startswith(f"{target.name}/")
    model = target.model or (name[len(target.name) + 1:] if discovered else None)
    if not selector.enabled or (model is None and selector.models is None):
        return None
    url = urlsplit(target.base_url)
    default_server = (_host(url.hostname or ""),
                      str(url.port) if url.port else DEFAULT_PORTS.get(url.scheme, ""))
    return Selection(
        target=name,
        providers=frozenset(selector.providers if selector.providers is not None
                            else {target.provider, *SDK_PROVIDERS[target.protocol]}),
        models=frozenset(_model(m) for m in (selector.models if selector.models is not None
                                             else [model])),
        servers=frozenset(_server(s) for s in selector.servers) if selector.servers is not None
        else frozenset({default_server}),
        explicit_servers=selector.servers is not None,
        services=frozenset(selector.services) if selector.services is not None else None,
        exclude_services=frozenset(selector.exclude_services),
    )


def match(sources: Iterable[Source], targets: Iterable[tuple[str, Target]]) -> dict[int, Match]:
    """The Match of every source against the evaluated `targets` ((name, settings) pairs, as
    aggregator.evaluate.evaluated_targets gives them)."""
    selections = [s for s in (selection(name, t) for name, t in targets) if s is not None]
    return {source.key: _match(source, selections) for source in sources}


def _match(source: Source, selections: list[Selection]) -> Match:
    accepting = [s for s in selections if s.accepts(source)]
    if source.address:
        left = [s.target for s in accepting if s.serves(source)]
    else:
        left = [s.target for s in accepting if not s.explicit_servers]
    if len(left) == 1:
        return Match(left[0])
    return Match("", tuple(sorted(left)))
