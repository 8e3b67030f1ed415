"""Load the configuration: YAML file, then `LLMHEALTH_…` environment, then CLI flags.

Precedence (highest first): flags given to the command, environment variables
(`LLMHEALTH_STORE__HTTP_PORT=8124`, nested keys joined by `__`), the YAML file, defaults.
Every problem is raised as ConfigError, one line per problem, naming where the value came
from (the file and its line, the `LLMHEALTH_…` variable, or a flag) and the key; the file is
read by yamlfile.py, the variables are checked by environ.py. No message shows a
variable's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from llmhealth_config.environ import (
    ENV_PREFIX,
    check_utf8,
    read_variables,
    settings_error,
    variable_for,
)
from llmhealth_config.errors import RULE, ConfigError, Loc, format_loc
from llmhealth_config.model import Config
from llmhealth_config.yamlfile import read_yaml


def _settings_class(yaml_data: dict) -> type[BaseSettings]:
    class Settings(BaseSettings, Config):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _DictSource(settings_cls, yaml_data))

    return Settings


class _DictSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class _Origin:
    """Where a value came from, by the precedence of the sources: a flag, a variable, the
    file's line."""

    def __init__(self, path: Path | None, lines: dict[Loc, int], overrides: dict,
                 variables: list[str]) -> None:
        self.path, self.lines, self.overrides, self.variables = path, lines, overrides, variables

    def where(self, loc: Loc) -> str:
        """`file:line`, `VARIABLE (environment)` or `command-line flag`."""
        if _given(self.overrides, loc):
            return "command-line flag"
        variable = variable_for(loc, self.variables)
        if variable:
            return f"{variable} (environment)"
        line = self.line(loc)
        return f"{self.path}:{line}" if line is not None else str(self.path or "configuration")

    def line(self, loc: Loc) -> int | None:
        """The file's line of `loc` (of its nearest parent in the file), None when the value
        is not from the file."""
        if self.path is None or _given(self.overrides, loc) or variable_for(loc, self.variables):
            return None
        return next((self.lines[loc[:cut]] for cut in range(len(loc), 0, -1)
                     if loc[:cut] in self.lines), None)


def _given(overrides: Mapping, loc: Loc) -> bool:
    """Whether a flag sets `loc` or a key above it."""
    node: Any = overrides
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            break
        node = node[part]
    return not isinstance(node, Mapping)


def _describe(error: ErrorDetails, origin: _Origin) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == RULE:
        context: dict[str, Any] = error["ctx"]
        if "first_at" in context:
            first_line = origin.line(loc + context["first_at"])
            if first_line is not None:
                message = message.replace(context["first"], f"line {first_line}")
        loc += context["at"]
    where, key = origin.where(loc), format_loc(loc)
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key '{key}' (check the spelling; see docs/configuration.md)"
    return f"{where}: {key}: {message}"


def load_config(path: Path | None, overrides: dict | None = None) -> Config:
    """Build the effective Config. `overrides` are CLI flags as a nested dict. Raises
    ConfigError, one line per problem, each naming where the value came from."""
    data, lines = read_yaml(path) if path is not None else ({}, {})
    environ = os.environ
    variables = read_variables(environ, Config.model_fields)
    check_utf8(environ, variables)
    origin = _Origin(path, lines, overrides or {}, variables)
    try:
        settings = _settings_class(data)(**(overrides or {}))
    except SettingsError as exc:
        raise settings_error(exc, environ, variables) from None
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(e, origin) for e in exc.errors())) from None
    return Config.model_validate(settings.model_dump())
