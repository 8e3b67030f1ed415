"""API keys never leave the request: with keys set for OpenAI-style, Anthropic and a hostile
provider that echoes the key back, no log line, metric attribute, stored row, status output
or error text of a real `llmhealth run` contains the key, and only the prober's environment
holds it (a key no target names reaches no child)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.pipeline import cli, query, running_pipeline
from simulator.behavior import ModelBehavior
from simulator.server import running
from tests.embedded import processes

pytestmark = pytest.mark.embedded
SECRET = f"sk-e2e-{secrets.token_hex(16)}"
UNNAMED = f"sk-e2e-unnamed-{secrets.token_hex(16)}"  # set, but no target names it
DEADLINE_S = 40


class EchoKey(BaseHTTPRequestHandler):
    """A careless provider: 401 with the presented key in a header and in the error message."""

    def do_POST(self) -> None:
        presented = self.headers.get("authorization", "")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {presented}",
                                     "type": "invalid_request_error"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo-Key", presented)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def keyed_pipeline(tmp_path_factory: pytest.TempPathFactory, echo_server: str) -> Iterator[dict]:
    with running({"ok-model": ModelBehavior()}) as sim:
        key = {"api_key_env": "LLMHEALTH_TEST_SECRET_KEY", "interval": 1, "timeout": 3}
        targets = [
            {"name": "keyed-openai", "base_url": sim, "model": "ok-model", **key},
            {"name": "keyed-anthropic", "protocol": "anthropic", "model": "ok-model",
             "base_url": sim.removesuffix("/v1") + "/anthropic", **key},
            {"name": "keyed-echo", "base_url": echo_server, "model": "m", **key},
        ]
        settings = {"targets": targets, "aggregator": {"interval": 1, "window": 60}}
        with running_pipeline(tmp_path_factory.mktemp("secrets"), settings,
                              env={"LLMHEALTH_TEST_SECRET_KEY": SECRET,
                                   "OPENAI_API_KEY": UNNAMED}) as info:
            _wait_for_statuses(info)
            yield info


def _wait_for_statuses(info: dict) -> None:
    while True:
        assert info["process"].poll() is None, info["log"].read_text()
        result = cli("status", "--json", "--config", str(info["config"]))
        rows = {r["target"]: r["status"] for r in json.loads(result.stdout)} if result.returncode == 0 else {}
        if (rows.get("keyed-openai") == "healthy" and rows.get("keyed-anthropic") == "healthy"
                and rows.get("keyed-echo") == "unhealthy"):
            return
        assert time.monotonic() - info["started"] < DEADLINE_S, (rows, info["log"].read_text())
        time.sleep(1)


def test_key_in_no_log_line(keyed_pipeline: dict) -> None:
    log = keyed_pipeline["log"].read_text()
    assert SECRET not in log
    # The echoed key was seen and redacted, not dropped silently.
    assert "target=keyed-echo kind=completion outcome=auth" in log and "[redacted]" in log


def test_key_in_no_stored_row_or_metric_attribute(keyed_pipeline: dict) -> None:
    tables = [r["name"] for r in query(keyed_pipeline, "SELECT name FROM system.tables "
                                            "WHERE database = 'llmhealth' AND engine NOT LIKE '%View'")]
    assert {"otel_metrics_sum", "otel_metrics_exponential_histogram", "health_snapshots"} <= set(tables)
    for table in tables:
        dump = query(keyed_pipeline, f"SELECT * FROM llmhealth.{table}", fmt="TSV")
        assert SECRET not in dump, table
    auth = query(keyed_pipeline, """SELECT sum(Value) AS n FROM otel_metrics_sum
                         WHERE Attributes['llmhealth.target'] = 'keyed-echo'
                           AND Attributes['llmhealth.probe.outcome'] = 'auth'""")
    assert auth[0]["n"] > 0  # the hostile answers were stored, only without the key


def test_key_in_no_status_output_or_config_file(keyed_pipeline: dict) -> None:
    for args in (("status", "--json"), ("status",)):
        result = cli(*args, "--config", str(keyed_pipeline["config"]))
        assert result.returncode == 0 and SECRET not in result.stdout + result.stderr
    written = keyed_pipeline["config"].parent / "data" / "run" / "config.yaml"
    assert written.exists() and SECRET not in written.read_text()


def test_key_only_in_the_prober_environment(keyed_pipeline: dict) -> None:
    children = processes.wait_children(keyed_pipeline["process"].pid, ("rotel", "prober"), 10)
    prober, rotel = children["prober"].environ(), children["rotel"].environ()
    assert prober["LLMHEALTH_TEST_SECRET_KEY"] == SECRET
    assert SECRET not in rotel.values()
    assert UNNAMED not in {*prober.values(), *rotel.values()}
