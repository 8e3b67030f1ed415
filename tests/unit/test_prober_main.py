"""The prober process: startup checks, and a real run that exports OTLP until SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.metrics.v1 import metrics_pb2

from harness.ports import free_ports
from llmhealth_config.model import CollectorSettings, Config, ProberSettings
from llmhealth_config.target import Target
from prober.main import fast_interval_warnings, main


@pytest.fixture(autouse=True)
def _restore_library_log_levels() -> Iterator[None]:
    yield
    for name in ("httpx", "httpcore", "prober"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def keyed_target(variable: str) -> Target:
    return Target(name="keyed", base_url="http://127.0.0.1:1/v1", model="m", api_key_env=variable)


def test_unset_key_names_target_and_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LLMHEALTH_TEST_UNSET_KEY", raising=False)
    assert main(Config(targets=[keyed_target("LLMHEALTH_TEST_UNSET_KEY")])) == 2
    error = capsys.readouterr().err
    assert "'keyed'" in error and "LLMHEALTH_TEST_UNSET_KEY" in error


def test_unusable_key_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLMHEALTH_TEST_KEY", "sk-test SECRET123")
    assert main(Config(targets=[keyed_target("LLMHEALTH_TEST_KEY")])) == 2
    error = capsys.readouterr().err
    assert "LLMHEALTH_TEST_KEY" in error and "SECRET123" not in error


def test_no_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(Config()) == 2
    assert "no targets" in capsys.readouterr().err


def test_fast_interval_warnings_name_each_fast_target_and_its_rate() -> None:
    common = {"base_url": "http://127.0.0.1:1", "allow_fast_interval": True}
    config = Config.model_validate({"targets": [
        {"name": "fast", "model": "m", "interval": 0.25, **common},
        {"name": "opted-in-but-slow", "model": "m", "interval": 1, **common},
        {"name": "local", "protocol": "ollama", "discover": True, "probes": ["completion"],
         "interval": 2, **common},
        {"name": "slow", "base_url": "http://127.0.0.1:1", "model": "m"},
    ], "prober": {"discovery_interval": 0.5}})
    assert fast_interval_warnings(config) == [
        "target 'fast' uses allow_fast_interval: 8 requests/s (completion, stream every 0.25 s)",
        ("target 'local' uses allow_fast_interval: 0.5 requests/s to each discovered model "
         "(completion every 2 s), and a model listing every 0.5 s"),
    ]


class Receiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    """An OTLP/gRPC metrics endpoint that keeps every export request."""

    def __init__(self) -> None:
        self.requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []

    def Export(self, request, context):
        self.requests.append(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class CompletionHandler(BaseHTTPRequestHandler):
    # Chat completion object: https://platform.openai.com/docs/api-reference/chat/object
    body = json.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Pong"},
                    "finish_reason": "length",
                }
            ]
        }
    ).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def run_main_until_sigterm(grpc_port: int, seconds: float) -> int:
    """Run `main` in this (the main) thread against a local provider until a SIGTERM
    arrives after `seconds`; return how many requests the provider answered."""
    provider = ThreadingHTTPServer(("127.0.0.1", 0), CompletionHandler)
    provider.requests = 0
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    config = Config(
        targets=[
            Target(
                name="local",
                base_url=f"http://127.0.0.1:{provider.server_port}/v1",
                model="m",
                probes=["completion"],
                interval=0.2,
                allow_fast_interval=True,
            )
        ],
        prober=ProberSettings(export_interval=0.5, http_port=free_ports(1)[0]),
        collector=CollectorSettings(grpc_port=grpc_port),
    )
    terminate = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    terminate.start()
    try:
        assert main(config) == 0
    finally:
        terminate.cancel()
        provider.shutdown()
        provider.server_close()
    return provider.requests


def test_run_exports_otlp_until_sigterm(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="prober")
    receiver = Receiver()
    collector = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(receiver, collector)
    grpc_port = collector.add_insecure_port("127.0.0.1:0")
    collector.start()
    try:
        assert run_main_until_sigterm(grpc_port, 1.5) >= 4
    finally:
        collector.stop(0)

    metrics = [
        (resource.resource, metric)
        for request in receiver.requests
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    ]
    resource = {a.key: a.value.string_value for a in metrics[0][0].attributes}
    assert resource["service.name"] == "llmhealth-prober"
    delta = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    outcomes = [m.sum for _, m in metrics if m.name == "llmhealth.probe.outcomes"]
    assert outcomes and all(s.aggregation_temporality == delta and s.is_monotonic for s in outcomes)
    assert sum(p.as_int for s in outcomes for p in s.data_points) >= 4
    durations = [m for _, m in metrics if m.name == "gen_ai.client.operation.duration"]
    assert durations and all(m.WhichOneof("data") == "exponential_histogram" for m in durations)
    assert all(m.exponential_histogram.aggregation_temporality == delta for m in durations)
    fast = [r.getMessage() for r in caplog.records if "allow_fast_interval" in r.getMessage()]
    assert fast == ["target 'local' uses allow_fast_interval: 5 requests/s (completion every 0.2 s)"]


def test_keeps_probing_while_the_collector_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    started = time.monotonic()
    assert run_main_until_sigterm(closed_port, 1.2) >= 4
    assert time.monotonic() - started < 1.2 + 8  # shutdown gives up on the export
