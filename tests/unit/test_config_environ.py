"""Problems in `LLMHEALTH_…` variables and flags (`llmhealth_config.environ`, the loader's
attribution): each message names the variable that set the value, never its value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from llmhealth_config import ConfigError, load_config
from llmhealth_config.environ import settings_error

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"
TARGET = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}


def load_error(path: Path | None = None, overrides: dict | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


@pytest.mark.parametrize(("variable", "value", "message"), [
    pytest.param("LLMHEALTH_TARGETS", '[{"name": "sk-live-hunter2", ', "LLMHEALTH_TARGETS "
                 "(environment): invalid JSON: Expecting property name enclosed in double quotes at "
                 "line 1, column 30", id="list"),
    pytest.param("LLMHEALTH_AGGREGATOR__WINDOWS", "[1m, sk-live-hunter2]", "LLMHEALTH_AGGREGATOR__"
                 "WINDOWS (environment): invalid JSON: Expecting ',' delimiter at line 1, column 3",
                 id="nested-list"),
    pytest.param("llmhealth_prober", "{sk-live-hunter2", "llmhealth_prober (environment): invalid "
                 "JSON: Expecting property name enclosed in double quotes at line 1, column 2",
                 id="section-lower-case"),
])
def test_invalid_json_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    error = load_error(FIXTURES / "valid-full.yaml")
    assert error == message
    assert "hunter2" not in error


def test_not_utf8_value_names_the_variable_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_STORE__DATA_DIR", "/data/sk-live-hunter2-\udcff")  # byte 0xff
    error = load_error()
    assert error == ("LLMHEALTH_STORE__DATA_DIR (environment): not UTF-8 text (invalid byte at "
                     "character 23 of the value): set it as UTF-8 text")
    assert "hunter2" not in error


def test_not_utf8_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_PROBER__\udcffINTERVAL", "5")
    assert load_error() == ("LLMHEALTH_PROBER__\\xffINTERVAL (environment): the variable's name is "
                            "not UTF-8 text: rename it")


def test_variables_the_loader_does_not_read_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_STORE_PASSWORD", "\udcff")  # read by the store, not here
    assert load_config(None).store.http_port == 8123


def test_duplicate_target_from_the_environment_names_the_variable_and_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    targets = [{"name": "a", **TARGET}, {"name": "b", **TARGET}, {"name": "a", **TARGET}]
    monkeypatch.setenv("LLMHEALTH_TARGETS", json.dumps(targets))
    # The file has targets too, with lines; the variable replaces them, so no line is given.
    assert load_error(FIXTURES / "valid-full.yaml") == (
        "LLMHEALTH_TARGETS (environment): targets[2].name: target name 'a' is used twice (first "
        "at targets[0].name); names must be unique")


def test_pool_named_like_a_target_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    targets = [{"name": "a", "pool": "b", **TARGET}, {"name": "b", **TARGET}]
    monkeypatch.setenv("LLMHEALTH_TARGETS", json.dumps(targets))
    assert load_error() == ("LLMHEALTH_TARGETS (environment): targets[0].pool: pool 'b' is also "
                            "the name of the target at targets[1].name; pools and targets share "
                            "one namespace")


def test_a_variable_over_a_file_key_is_blamed_not_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_PROBER__INTERVAL", "1ms")
    assert load_error(FIXTURES / "valid-full.yaml").startswith(
        "LLMHEALTH_PROBER__INTERVAL (environment): prober.interval: must be at least 1 s")


def test_a_section_rule_names_the_variables_inside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_AGGREGATOR__WINDOW", "2m")
    assert load_error() == ("LLMHEALTH_AGGREGATOR__WINDOW (environment): aggregator: window (120 s, "
                            "the status window) must be one of windows (60, 300, 3600 s)")


def test_a_flag_is_blamed_as_a_flag() -> None:
    assert load_error(FIXTURES / "valid-full.yaml", {"store": {"http_port": 70000}}) == (
        "command-line flag: store.http_port: Input should be less than or equal to 65535")


def test_a_settings_error_without_json_names_the_prefix() -> None:
    error = settings_error(SettingsError('error parsing value for field "prober"'), {}, [])
    assert str(error) == 'LLMHEALTH_… (environment): error parsing value for field "prober"'
