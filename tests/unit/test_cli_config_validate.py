"""`llmhealth config validate FILE`: every invalid fixture exits 1 and prints each problem the
loader finds (file:line, key, what is allowed), one `error:` line each, and no summary; a valid
file prints a summary of its targets (name, protocol, kinds, interval) and exits 0, noting the
variables it names that this environment does not set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmhealth.cli import app
from llmhealth_config import ConfigError, load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
INVALID = sorted(FIXTURES.glob("invalid-*.yaml"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LLMHEALTH_… variable of the caller's shell reaches the config."""
    for name in list(os.environ):
        if name.upper().startswith("LLMHEALTH_"):
            monkeypatch.delenv(name)


def validate(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    return result.exit_code, result.stdout, result.stderr


def loader_errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value).splitlines()


def test_every_invalid_fixture_is_covered() -> None:
    assert len(INVALID) >= 40


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_an_invalid_file_prints_every_problem_and_exits_1(path: Path) -> None:
    expected = loader_errors(path)
    code, stdout, stderr = validate(path)
    assert code == 1
    assert stdout == ""
    *lines, total = stderr.splitlines()
    assert lines == [f"error: {e}" for e in expected]
    assert all(str(path) in line for line in lines)  # each names the file (and its line)
    assert total == f"{path}: {len(expected)} problem{'' if len(expected) == 1 else 's'}"


@pytest.mark.parametrize(("name", "line"), [
    pytest.param("invalid-unknown-key.yaml", ":5: unknown key 'targets[0].tresholds' (check the "
                 "spelling; see docs/configuration.md)", id="unknown-key"),
    pytest.param("invalid-protocol.yaml", ":5: targets[0].protocol: Input should be 'openai', "
                 "'azure', 'anthropic', 'ollama', 'lmstudio' or 'http'", id="what-is-allowed"),
    pytest.param("invalid-duplicate-key.yaml", ":11: duplicate key 'prober' (first at line 9)",
                 id="several-problems"),
])
def test_errors_name_the_line_the_key_and_what_is_allowed(name: str, line: str) -> None:
    code, _, stderr = validate(FIXTURES / name)
    assert code == 1
    assert f"error: {FIXTURES / name}{line}" in stderr


def test_a_missing_file_is_one_problem() -> None:
    code, _, stderr = validate(FIXTURES / "no-such-file.yaml")
    assert code == 1
    assert stderr.splitlines()[0] == f"error: {FIXTURES}/no-such-file.yaml: config file not found"


def test_a_valid_file_prints_a_summary_of_its_targets() -> None:
    code, stdout, stderr = validate(FIXTURES / "valid-targets.yaml")
    assert (code, stderr) == (0, "")
    headline, *table = stdout.splitlines()
    assert headline == (f"{FIXTURES}/valid-targets.yaml: valid · 6 targets, 0 pools · probes "
                        "every 5 s unless a target says otherwise · evaluated every 2 s")
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("│ ").split("│")]
                                          for line in table if line.startswith("│"))}
    assert rows["vllm"][:5] == ["vllm", "http", "-", "http", "5 s (prober.interval)"]
    assert rows["local"][:4] == ["local", "ollama", "discovered: each installed model",
                                 "models, completion, stream"]
    assert rows["azure-o3"][:5] == ["azure-o3", "azure", "o3-prod", "completion, stream",
                                    "5 s (prober.interval)"]
    assert "note:" not in stdout


def test_variables_this_environment_lacks_are_notes_not_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, stdout, _ = validate(FIXTURES / "valid-full.yaml")
    assert code == 0
    assert "│ openai-gpt-4o-mini │ openai   │ gpt-4o-mini │ completion, stream │ 30 s     │" in stdout
    assert stdout.splitlines()[-1] == ("note: target 'openai-gpt-4o-mini': environment variable "
                                       "OPENAI_API_KEY is not set or empty: the prober refuses to "
                                       "start without it")
    code, stdout, _ = validate(FIXTURES / "notify-unset-variable.yaml")
    assert code == 0
    assert "0 targets" in stdout and "built-in demo" in stdout
    assert "note: notifications.receivers[0] (oncall): LLMHEALTH_TEST_UNSET_SLACK_URL" in stdout


def test_a_set_key_is_not_noted_and_its_value_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    code, stdout, stderr = validate(FIXTURES / "valid-full.yaml")
    assert code == 0
    assert "note:" not in stdout and "sk-test-secret-value" not in stdout + stderr
