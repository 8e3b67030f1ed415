"""Every command that reads the config reports a bad one as one `error:` line and exit code 2,
never a traceback (`llmhealth.cli._load`), whether the problem is in the file or in a
variable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "config"


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Exit code and stderr of `python -m llmhealth *args`. It runs in its own process group,
    killed whole on a timeout: should the config be accepted, `run` starts child processes."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("LLMHEALTH_")}
    process = subprocess.Popen([sys.executable, "-m", "llmhealth", *args], cwd=cwd,
                               env={**clean, "PYTHONPATH": str(ROOT), **env}, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, stderr


@pytest.mark.parametrize(("args", "env", "message"), [
    pytest.param(["status", "--config", str(FIXTURES / "invalid-encoding.yaml")], {},
                 "invalid-encoding.yaml:4:15: not UTF-8 text", id="status-not-utf8"),
    pytest.param(["migrate", "--config", str(FIXTURES / "invalid-url-port.yaml")], {},
                 "invalid-url-port.yaml:3: targets[0].base_url: invalid port", id="migrate-port"),
    pytest.param(["run", "--config", str(FIXTURES / "invalid-prober-interval.yaml")], {},
                 "invalid-prober-interval.yaml:2: prober.interval: must be at least 1 s",
                 id="run-interval-floor"),
    pytest.param(["run"], {"LLMHEALTH_STORE__HTTP_HOST": "0.0.0.0"},
                 "store.http_host 0.0.0.0 lets other machines reach the embedded store: set a "
                 "password in LLMHEALTH_STORE_PASSWORD", id="run-exposed-store-without-password"),
    pytest.param(["status"], {"LLMHEALTH_TARGETS": '[{"name": '},
                 "LLMHEALTH_TARGETS (environment): invalid JSON", id="status-json-variable"),
    pytest.param(["run", "--config", str(FIXTURES / "notify-unset-variable.yaml")], {},
                 "notifications.receivers[0] (oncall): LLMHEALTH_TEST_UNSET_SLACK_URL, named by "
                 "url_env, is not set or empty", id="run-notify-variable-unset"),
    pytest.param(["prober"], {"LLMHEALTH_PROBER__TIMEOUT": "\udcff"},
                 "LLMHEALTH_PROBER__TIMEOUT (environment): not UTF-8 text", id="prober-not-utf8"),
])
def test_config_error_is_one_line_and_exit_code_2(args: list[str], env: dict[str, str],
                                                  message: str, tmp_path: Path) -> None:
    code, stderr = run_cli(*args, env=env, cwd=tmp_path)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    (line,) = stderr.splitlines()
    assert line.startswith("error: ") and message in line, line
