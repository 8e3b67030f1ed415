"""Load the configuration: YAML file, then `LLMHEALTH_…` environment, then CLI flags.

Precedence (highest first): flags given to the command, environment variables
(`LLMHEALTH_STORE__HTTP_PORT=8124`, nested keys joined by `__`), the YAML file, defaults.
Every problem is raised as ConfigError whose text names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from llmhealth.config.model import Config

ENV_PREFIX = "LLMHEALTH_"


class ConfigError(Exception):
    """A configuration problem, phrased for the operator (file, line, key, what to do)."""


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, by its path."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.lines: dict[tuple, int] = {}


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _walk(item, path + (index,), lines)


def read_yaml(path: Path) -> tuple[dict, dict[tuple, int]]:
    """Parse the file; return the data and the line number of every key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    loader = _MarkedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of settings, not {type(data).__name__}")
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


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


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: dict, path: Path | None, lines: dict[tuple, int]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _format_loc(loc)
    line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
    if path is not None and line is not None:
        where = f"{path}:{line}"
    elif path is not None and not loc:
        where = str(path)
    else:
        where = f"{ENV_PREFIX}{'__'.join(str(p).upper() for p in loc)} (environment or flag)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key '{key}' (check the spelling; see docs/configuration.md)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {key}: {message}"


def load_config(path: Path | None, overrides: dict | None = None) -> Config:
    """Build the effective Config. `overrides` are CLI flags as a nested dict."""
    data, lines = read_yaml(path) if path is not None else ({}, {})
    settings_cls = _settings_class(data)
    try:
        settings = settings_cls(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(e, path, lines) for e in exc.errors())) from None
    return Config.model_validate(settings.model_dump())
