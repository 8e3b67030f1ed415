"""Read the YAML config file strictly: UTF-8 text, YAML syntax, each key once per mapping.

PyYAML accepts a key twice and keeps the last value; an operator who pastes a second
`model:` into a target then probes another model than the one they read first. Here every
such problem is a ConfigError naming the file and the line, and for duplicate keys the key
path and the line of the first occurrence.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from llmhealth_config.errors import ConfigError, Loc, format_loc


def read_yaml(path: Path) -> tuple[dict, dict[Loc, int]]:
    """Parse the file; return the data and the line number of every key path (the key's own
    line for a mapping key, the item's first line for a list item)."""
    text = _read_text(path)
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a character that YAML forbids, e.g. NUL
        line, column = _line_column(text, exc.position)
        raise ConfigError(f"{path}:{line}:{column}: invalid YAML: unprintable character "
                          f"#x{exc.character:04x} is not allowed: remove it") from None
    try:
        node = loader.get_single_node()
        lines = _key_lines(node, path) if node is not None else {}
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
    return data, lines


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start:exc.start].decode("utf-8")) + 1
        raise ConfigError(f"{path}:{line}:{column}: not UTF-8 text (invalid byte "
                          f"0x{raw[exc.start]:02x}): save the file as UTF-8") from None


def _line_column(text: str, position: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _key_lines(root: yaml.Node, path: Path) -> dict[Loc, int]:
    """The line of every key path under `root`, read from the nodes before construction (which
    rewrites `<<` merge keys); ConfigError listing every key given twice in one mapping."""
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[int, str]] = []
    walked: set[int] = set()

    def walk(node: yaml.Node, loc: Loc) -> None:
        if id(node) in walked:  # an alias: its anchor's keys are already walked
            return
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # construction refuses it (unhashable key)
                key_loc, line = loc + (key_node.value,), key_node.start_mark.line + 1
                if key_loc in lines:
                    message = (f"{path}:{line}: duplicate key '{format_loc(key_loc)}' (first at "
                               f"line {lines[key_loc]}): a key may appear once per mapping")
                    duplicates.append((line, message))
                    continue
                lines[key_loc] = line
                walk(value_node, key_loc)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[loc + (index,)] = item.start_mark.line + 1
                walk(item, loc + (index,))

    walk(root, ())
    if duplicates:
        raise ConfigError("\n".join(message for _, message in sorted(duplicates)))
    return lines
