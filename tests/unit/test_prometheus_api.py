"""Where `GET /metrics` listens: aggregator.http_host and http_port (defaults, validation, the
variable and `llmhealth run --api-port`), the run's port pre-check naming them, and the API
server on a real port: it serves, a taken port is refused with the setting to change, and a
stopped server frees its port at once."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer, ApiUnavailable
from aggregator.metrics_state import MetricsState
from harness.ports import free_ports
from llmhealth.run.pipeline import API, _ports
from llmhealth_config import ConfigError, load_config
from llmhealth_config.model import Config

HOST_ERROR = ("aggregator.http_host: must be an IP address or a host name to listen on, e.g. "
              "127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface) or :: (every interface)")


def _load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "llmhealth.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).removeprefix(f"{path}:")


def test_defaults_listen_on_this_machine_only() -> None:
    settings = Config().aggregator
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "::1", "localhost", "aggregator",
                                  "metrics.internal.example.com"])
def test_a_host_is_an_address_or_a_name(host: str) -> None:
    assert Config.model_validate({"aggregator": {"http_host": host}}).aggregator.http_host == host


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("aggregator:\n  http_host: http://0.0.0.0:8080\n", f"2: {HOST_ERROR}", id="url"),
    pytest.param("aggregator:\n  http_host: ''\n", f"2: {HOST_ERROR}", id="empty"),
    pytest.param("aggregator:\n  http_port: 0\n", "2: aggregator.http_port: Input should be "
                 "greater than or equal to 1", id="port-zero"),
    pytest.param("aggregator:\n  http_port: 70000\n", "2: aggregator.http_port: Input should be "
                 "less than or equal to 65535", id="port-too-high"),
])
def test_an_invalid_listen_setting_is_named(tmp_path: Path, text: str, message: str) -> None:
    assert _load_error(tmp_path, text) == message


def test_the_variable_and_the_run_flag_set_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMHEALTH_AGGREGATOR__HTTP_PORT", "9101")
    assert load_config(None).aggregator.http_port == 9101
    assert load_config(None, {"aggregator": {"http_port": 9102}}).aggregator.http_port == 9102


def test_the_run_checks_the_api_port_naming_how_to_change_it() -> None:
    config = Config.model_validate({"aggregator": {"http_port": 9103}})
    assert _ports(config, demo=False)[API] == (
        9103, "--api-port, LLMHEALTH_AGGREGATOR__HTTP_PORT or aggregator.http_port")


def test_the_server_serves_refuses_a_taken_port_and_frees_its_own() -> None:
    app = create_app(metrics=MetricsState(None, Config()))
    (port,) = free_ports(1)
    server = ApiServer(app, "127.0.0.1", port)
    server.start()
    try:
        response = httpx.get(f"{server.url}/metrics", timeout=5)
        assert response.status_code == 200
        assert "llmhealth_aggregator_interval_seconds 2.0" in response.text
        assert httpx.get(f"{server.url}/nowhere", timeout=5).status_code == 404
        with pytest.raises(ApiUnavailable, match=(
                rf"^port {port} on 127.0.0.1 \(aggregator HTTP API, GET /metrics\) is already in "
                r"use: stop the process using it or choose another with "
                r"LLMHEALTH_AGGREGATOR__HTTP_PORT or aggregator.http_port$")):
            ApiServer(app, "127.0.0.1", port).start()
    finally:
        server.stop()
    again = ApiServer(app, "127.0.0.1", port)  # at once, on the same port
    again.start()
    again.stop()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_an_unknown_host_is_refused_naming_the_setting() -> None:
    app = create_app(metrics=MetricsState(None, Config()))
    with pytest.raises(ApiUnavailable, match=r"^cannot listen on no-such-host\.invalid "
                                             r"\(aggregator\.http_host\): "):
        ApiServer(app, "no-such-host.invalid", 0).start()
