"""The `LLMHEALTH_…` environment variables: which ones the loader reads, their checks before
pydantic-settings parses them, and which one a value came from.

A message names the variable and never shows its value: the value may hold a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from pydantic_settings import SettingsError

from llmhealth_config.errors import ConfigError, Loc

ENV_PREFIX = "LLMHEALTH_"


def read_variables(environ: Mapping[str, str], sections: Iterable[str]) -> list[str]:
    """Names of the variables that set a top-level section or a key in one (pydantic-settings
    matches names case-insensitively: `LLMHEALTH_TARGETS`, `LLMHEALTH_STORE__HTTP_PORT`)."""
    heads = [f"{ENV_PREFIX}{section}".lower() for section in sections]
    return sorted(name for name in environ
                  if any(name.lower() == head or name.lower().startswith(f"{head}__")
                         for head in heads))


def check_utf8(environ: Mapping[str, str], names: Iterable[str]) -> None:
    """ConfigError when one of the variables `names` has a name or value that is not UTF-8
    (Python keeps such bytes as lone surrogates in os.environ)."""
    problems = []
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            problems.append(f"{shown} (environment): the variable's name is not UTF-8 text: "
                            "rename it")
            continue
        try:
            environ[name].encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.append(f"{name} (environment): not UTF-8 text (invalid byte at character "
                            f"{exc.start + 1} of the value): set it as UTF-8 text")
    if problems:
        raise ConfigError("\n".join(problems))


def settings_error(exc: SettingsError, environ: Mapping[str, str], names: Iterable[str]) -> ConfigError:
    """The ConfigError for a variable that pydantic-settings could not parse: a list or a
    section given as invalid JSON (`LLMHEALTH_TARGETS='[{"name": '`)."""
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        for name in names:
            if environ[name] == cause.doc:
                return ConfigError(f"{name} (environment): invalid JSON: {cause.msg} at line "
                                   f"{cause.lineno}, column {cause.colno}")
    return ConfigError(f"{ENV_PREFIX}… (environment): {exc}")


def variable_for(loc: Loc, names: Iterable[str]) -> str | None:
    """The variable that set the value at `loc`, as spelled in the environment, or None.

    The longest of `LLMHEALTH_<A>__<B>`, `LLMHEALTH_<A>` over the names that lead `loc` (a
    list is given whole, as JSON, so an index ends the search); else the variables that set
    keys inside it (an error of a whole section or model)."""
    keys = []
    for part in loc:
        if not isinstance(part, str):
            break
        keys.append(part)
    by_lower = {name.lower(): name for name in names}
    for cut in range(len(keys), 0, -1):
        found = by_lower.get(f"{ENV_PREFIX}{'__'.join(keys[:cut])}".lower())
        if found:
            return found
    inside = f"{ENV_PREFIX}{'__'.join(keys)}__".lower()
    return ", ".join(name for low, name in sorted(by_lower.items())
                     if keys and low.startswith(inside)) or None
