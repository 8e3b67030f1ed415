"""API keys: read once at startup from the environment variables the targets name.

A key is only ever passed to the probe functions; error messages name the target and the
variable, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmhealth_config.target import Target


class MissingApiKey(ValueError):
    """A target names a key variable that is unset, empty or not a usable header value."""


def resolve_api_keys(targets: list[Target], environ: Mapping[str, str]) -> dict[str, str | None]:
    """Map every target name to its API key, None for targets without `api_key_env`."""
    keys: dict[str, str | None] = {}
    for target in targets:
        keys[target.name] = _key_of(target, environ) if target.api_key_env else None
    return keys


def _key_of(target: Target, environ: Mapping[str, str]) -> str:
    variable = target.api_key_env
    value = environ.get(variable or "", "").strip()
    if not value:
        raise MissingApiKey(
            f"target {target.name!r}: environment variable {variable} is not set or empty"
        )
    if not all("!" <= char <= "~" for char in value):
        raise MissingApiKey(
            f"target {target.name!r}: environment variable {variable} contains characters "
            "that are not printable ASCII"
        )
    return value
