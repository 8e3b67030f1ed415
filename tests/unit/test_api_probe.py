"""`POST /api/health/probe` over real HTTP (the app served by ApiServer on an ephemeral port, the
probes sent to the simulator): disabled unless a token is configured, 401 without the bearer
token, 403 with a wrong one, and no probe sent in any of those cases; unknown targets are 404
listing the configured ones; one run at a time (429 with Retry-After); outcomes with ordered
timings; neither the token nor a key in any answer or log line."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.metrics_state import MetricsState
from llmhealth.probe_runner import OnceRunner
from llmhealth_config.model import Config
from prober.once import longest_run_s
from simulator.behavior import ModelBehavior
from simulator.server import running

FAST = {"latency_p50": 0.01, "latency_p99": 0.03, "ttft_p50": 0.01, "ttft_p99": 0.03}
MODELS = {
    "good": ModelBehavior(**FAST),
    "down": ModelBehavior(**FAST, error_rate=1.0, error_kind="http_500"),
    "hung": ModelBehavior(**FAST, error_rate=1.0, error_kind="timeout", hang_seconds=30.0),
}
TOKEN_ENV = "LLMHEALTH_TEST_PROBE_TOKEN"
TOKEN = "probe-token-5f0c2d9e8b7a6f41"
KEY_ENV = "LLMHEALTH_TEST_PROVIDER_KEY"
KEY = "sk-api-probe-test-0123456789abcdef"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running(MODELS) as base:
        yield base


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(KEY_ENV, KEY)


def config(base: str, *, token_env: str | None = TOKEN_ENV, **hung: object) -> Config:
    targets = [{"name": name, "base_url": base, "model": name, "timeout": 5,
                "api_key_env": KEY_ENV} for name in ("good", "down")]
    targets.append({"name": "hung", "base_url": base, "model": "hung", "timeout": 2,
                    "probes": ["completion"], **hung})
    return Config.model_validate({"targets": targets,
                                  "aggregator": {"probe_token_env": token_env}})


@contextmanager
def served(cfg: Config) -> Iterator[httpx.Client]:
    app = create_app(metrics=MetricsState(None, cfg), probe_runner=OnceRunner(cfg))
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


def chat_requests(base: str) -> int:
    """Chat requests the simulator has received, all models together."""
    stats = httpx.get(f"{base.removesuffix('/v1')}/_sim/stats").json()
    return sum(model["requests"] for model in stats.values())


@pytest.mark.parametrize(("token_env", "value"), [
    pytest.param(None, TOKEN, id="setting-unset"),
    pytest.param("LLMHEALTH_TEST_UNSET_TOKEN", None, id="variable-unset"),
    pytest.param(TOKEN_ENV, "  ", id="variable-empty"),
])
def test_without_a_configured_token_probing_is_disabled(
        simulator: str, monkeypatch: pytest.MonkeyPatch, token_env: str | None,
        value: str | None) -> None:
    if value is not None:
        monkeypatch.setenv(TOKEN_ENV, value)
    before = chat_requests(simulator)
    with served(config(simulator, token_env=token_env)) as client:
        answers = [client.post("/api/health/probe", headers=headers, json=body)
                   for headers in ({}, RIGHT, {"Authorization": "Bearer"})
                   for body in (None, {"target": "good"})]
    assert {a.status_code for a in answers} == {403}
    assert answers[0].json()["detail"] == (
        "probing through the API is disabled: set aggregator.probe_token_env "
        "(LLMHEALTH_AGGREGATOR__PROBE_TOKEN_ENV) to the name of an environment variable "
        "holding a token, and set that variable in the aggregator's environment")
    assert chat_requests(simulator) == before


@pytest.mark.parametrize(("headers", "status"), [
    pytest.param({}, 401, id="no-header"),
    pytest.param({"Authorization": TOKEN}, 401, id="no-bearer-scheme"),
    pytest.param({"Authorization": f"Basic {TOKEN}"}, 401, id="basic-scheme"),
    pytest.param({"Authorization": "Bearer wrong"}, 403, id="wrong"),
    pytest.param({"Authorization": f"Bearer {TOKEN}x"}, 403, id="longer"),
    pytest.param({"Authorization": f"Bearer {TOKEN[:-1]}"}, 403, id="prefix"),
    pytest.param({"Authorization": "Bearer pröbe"}, 403, id="non-ascii"),
])
def test_a_missing_or_wrong_token_is_refused_and_nothing_is_probed(
        simulator: str, headers: dict[str, str], status: int) -> None:
    before = chat_requests(simulator)
    with served(config(simulator)) as client:
        answer = client.post("/api/health/probe",
                             headers={k: v.encode() for k, v in headers.items()},
                             json={"target": "good"})
    assert answer.status_code == status, answer.text
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["detail"].startswith("this endpoint needs `Authorization: Bearer")
    else:
        assert answer.json()["detail"].startswith("wrong bearer token")
    assert chat_requests(simulator) == before


def test_the_right_token_probes_and_answers_each_outcome_with_its_timings(simulator: str) -> None:
    before = chat_requests(simulator)
    with served(config(simulator)) as client:
        answer = client.post("/api/health/probe", headers=RIGHT, json={"target": "good"})
        everything = client.post("/api/health/probe", headers=RIGHT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["probes"], body["failed"]) == (2, 0)
    assert [(r["target"], r["kind"], r["outcome"], r["ok"], r["http_status"])
            for r in body["results"]] == [("good", "completion", "ok", True, 200),
                                          ("good", "stream", "ok", True, 200)]
    for result in body["results"]:
        assert result["first_byte_s"] <= result["duration_s"] <= body["duration_s"]
        if result["connection"] == "new":
            assert 0 < result["connect_s"] <= result["first_byte_s"]
        assert result["input_tokens"] >= 1 and result["output_tokens"] >= 1
        assert result["started_at"].endswith("Z") or result["started_at"].endswith("+00:00")
    assert body["results"][1]["ttft_s"] <= body["results"][1]["duration_s"]
    assert body["results"][1]["tokens_per_s"] > 0
    assert everything.status_code == 200, everything.text
    every = everything.json()
    assert [(r["target"], r["kind"], r["outcome"]) for r in every["results"]] == [
        ("good", "completion", "ok"), ("good", "stream", "ok"),
        ("down", "completion", "http_5xx"), ("down", "stream", "http_5xx"),
        ("hung", "completion", "timeout")]
    assert (every["probes"], every["failed"]) == (5, 3)
    assert chat_requests(simulator) == before + 7


def test_an_unknown_target_is_404_listing_the_configured_ones(simulator: str) -> None:
    before = chat_requests(simulator)
    with served(config(simulator)) as client:
        answer = client.post("/api/health/probe", headers=RIGHT, json={"target": "nope"})
    assert answer.status_code == 404
    assert answer.json() == {"detail": "unknown target; known targets: good, down, hung",
                             "valid": ["good", "down", "hung"]}
    assert chat_requests(simulator) == before


@pytest.mark.parametrize("body", [
    pytest.param({"target": ""}, id="empty-name"),
    pytest.param({"target": 5}, id="not-a-string"),
    pytest.param({"target": "good", "extra": 1}, id="unknown-field"),
])
def test_a_body_that_does_not_validate_is_422(simulator: str, body: dict) -> None:
    with served(config(simulator)) as client:
        answer = client.post("/api/health/probe", headers=RIGHT, json=body)
    assert answer.status_code == 422, answer.text


def test_one_run_at_a_time(simulator: str) -> None:
    cfg = config(simulator)
    with served(cfg) as client:
        first: list[httpx.Response] = []
        before = chat_requests(simulator)
        thread = threading.Thread(target=lambda: first.append(client.post(
            "/api/health/probe", headers=RIGHT, json={"target": "hung"})))
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while chat_requests(simulator) == before:  # until the hung model has the request
                assert thread.is_alive() and time.monotonic() < deadline, first
                time.sleep(0.02)
            second = client.post("/api/health/probe", headers=RIGHT, json={"target": "good"})
        finally:
            thread.join(10)
        third = client.post("/api/health/probe", headers=RIGHT, json={"target": "good"})
    assert second.status_code == 429, second.text
    assert second.json()["detail"].startswith("a probe run is under way")
    hung_run = longest_run_s(cfg, cfg.targets[2:])
    assert 1 <= int(second.headers["retry-after"]) <= math.ceil(hung_run)
    assert first[0].status_code == 200
    assert first[0].json()["results"][0]["outcome"] == "timeout"
    assert third.status_code == 200, third.text


def test_neither_the_token_nor_a_key_is_in_any_answer_or_log(
        simulator: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    with served(config(simulator)) as client:
        for headers, body in [({}, None), ({"Authorization": f"Bearer {TOKEN}x"}, None),
                              ({"Authorization": TOKEN}, None), (RIGHT, {"target": "nope"}),
                              (RIGHT, {"target": TOKEN}), (RIGHT, {"target": "good"}),
                              (RIGHT, {"target": "down"})]:
            answer = client.post("/api/health/probe", headers=headers, json=body)
            texts.append(f"{answer.status_code} {answer.headers} {answer.text}")
        monkeypatch.delenv(TOKEN_ENV)
        disabled = client.post("/api/health/probe", headers=RIGHT)
        texts.append(f"{disabled.status_code} {disabled.headers} {disabled.text}")
    assert [text.split()[0] for text in texts] == [
        "401", "403", "401", "404", "404", "200", "200", "403"]
    assert any("probe now: 2 probes of 1 targets" in r.getMessage() for r in caplog.records)
    for secret in (TOKEN, KEY):
        assert not [text for text in texts if secret in text]
        assert secret not in caplog.text


def test_openapi_describes_the_request_the_answer_and_the_refusals(simulator: str) -> None:
    with served(config(simulator)) as client:
        spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/health/probe"]["post"]
    assert set(operation["responses"]) == {"200", "401", "403", "404", "422", "429"}
    assert operation["security"] == [{"HTTPBearer": []}]
    schemas = spec["components"]["schemas"]
    assert {"connect_s", "first_byte_s", "ttft_s", "duration_s", "started_at",
            "connection"} <= set(schemas["ProbeOutcome"]["properties"])
    assert set(schemas["ProbeRun"]["properties"]) == {"results", "probes", "failed",
                                                      "duration_s"}
