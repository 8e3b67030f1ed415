"""`prober.once` over real HTTP: the simulator's healthy, failing and hanging models, a local
endpoint's discovered models, a target whose key variable is unset, and servers that echo a key;
outcomes, ordered timings (connect ≤ first byte ≤ total), connection reuse, and the bound of a
run."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from llmhealth_config.model import Config
from prober.once import OnceResult, UnknownTarget, longest_run_s, probe_once, select
from simulator.behavior import ModelBehavior
from simulator.server import running
from tests.unit.raw_http import FakeServer, headers_of

FAST = {"latency_p50": 0.01, "latency_p99": 0.03, "ttft_p50": 0.01, "ttft_p99": 0.03}
MODELS = {
    "good": ModelBehavior(**FAST),
    "down": ModelBehavior(**FAST, error_rate=1.0, error_kind="http_500"),
    "hung": ModelBehavior(**FAST, error_rate=1.0, error_kind="timeout", hang_seconds=30.0),
}
KEY = "sk-once-test-0123456789abcdef"


def config(*targets: dict, **aggregator: object) -> Config:
    return Config.model_validate({"targets": list(targets), "aggregator": aggregator})


def target(name: str, base_url: str, **fields: object) -> dict:
    return {"name": name, "base_url": base_url, "model": name, "timeout": 5, **fields}


def run(cfg: Config, environ: dict[str, str] | None = None) -> list[OnceResult]:
    return asyncio.run(probe_once(cfg, cfg.targets, environ or {}))


def by_probe(results: list[OnceResult]) -> dict[tuple[str, str], OnceResult]:
    return {(r.result.target, r.result.kind): r for r in results}


def test_outcomes_and_ordered_timings_of_a_healthy_and_a_failing_model() -> None:
    with running(MODELS) as base:
        cfg = config(target("good", base, probes=["models", "completion", "stream"]),
                     target("down", base))
        results = run(cfg)
    found = by_probe(results)
    assert list(found) == [("good", "models"), ("good", "completion"), ("good", "stream"),
                           ("down", "completion"), ("down", "stream")]
    assert {k: (r.result.outcome, r.result.http_status) for k, r in found.items()} == {
        ("good", "models"): ("ok", 200), ("good", "completion"): ("ok", 200),
        ("good", "stream"): ("ok", 200), ("down", "completion"): ("http_5xx", 500),
        ("down", "stream"): ("http_5xx", 500)}
    assert [r.ok for r in results] == [True, True, True, False, False]
    assert "HTTP 500" in found["down", "completion"].result.detail
    stream = found["good", "stream"].result
    assert stream.ttft_s is not None and stream.first_byte_s is not None
    assert stream.first_byte_s <= stream.ttft_s <= stream.duration_s
    assert stream.output_tokens and stream.output_tokens_per_s
    opened = [r for r in results if r.connection == "new"]
    assert opened, [r.connection for r in results]
    for r in results:
        first_byte = r.result.first_byte_s
        assert first_byte is not None and first_byte <= r.result.duration_s
        if r.connection == "new":
            assert r.connect_s is not None and 0 < r.connect_s <= first_byte
        else:
            assert (r.connection, r.connect_s) == ("reused", None)


def test_a_probe_after_another_on_its_endpoint_reuses_the_connection() -> None:
    with running(MODELS) as base:
        cfg = config(target("good", base, concurrency=1, probes=["completion", "stream"]))
        results = run(cfg)
    # one slot: the stream probe waits for the completion probe, then takes its connection
    assert [(r.result.kind, r.connection) for r in results] == [
        ("completion", "new"), ("stream", "reused")]
    assert [r.connect_s is None for r in results] == [False, True]
    assert results[0].started_at < results[1].started_at


def test_a_hanging_model_times_out_at_its_timeout_and_the_others_answer_meanwhile() -> None:
    with running(MODELS) as base:
        cfg = config(target("hung", base, timeout=1, probes=["completion"]),
                     target("good", base, probes=["completion"]))
        started = time.monotonic()
        results = run(cfg)
        took = time.monotonic() - started
    found = by_probe(results)
    hung = found["hung", "completion"].result
    assert hung.outcome == "timeout" and 0.9 < hung.duration_s < 1.5, hung
    assert "timeout 1s" in hung.detail
    assert found["good", "completion"].ok
    assert found["good", "completion"].result.duration_s < 0.9  # not queued behind the hang
    assert took < 2 < longest_run_s(cfg, cfg.targets)


def test_a_missing_key_variable_fails_its_target_only_and_sends_nothing() -> None:
    with running(MODELS) as base:
        cfg = config(target("good", base, api_key_env="ONCE_TEST_UNSET_KEY"),
                     target("down", base, model="good", api_key_env="ONCE_TEST_KEY"))
        results = run(cfg, {"ONCE_TEST_KEY": KEY})
    found = by_probe(results)
    for kind in ("completion", "stream"):
        missing = found["good", kind]
        assert (missing.result.outcome, missing.connection, missing.connect_s) == (
            "auth", None, None)
        assert "ONCE_TEST_UNSET_KEY is not set or empty" in missing.result.detail
        assert found["down", kind].ok


def test_a_discover_endpoint_is_listed_then_each_model_probed() -> None:
    with running({"alpha": ModelBehavior(**FAST), "beta": ModelBehavior(**FAST)}) as base:
        root = base.removesuffix("/v1")
        cfg = config({"name": "laptop", "protocol": "ollama", "base_url": root + "/ollama",
                      "discover": True, "probes": ["completion"], "timeout": 5})
        results = run(cfg)
    assert [(r.result.target, r.result.kind, r.result.outcome) for r in results] == [
        ("laptop", "models", "ok"), ("laptop/alpha:latest", "completion", "ok"),
        ("laptop/beta:latest", "completion", "ok")]


def test_an_unreachable_discover_endpoint_is_one_failed_listing() -> None:
    cfg = config({"name": "gone", "protocol": "ollama", "base_url": "http://127.0.0.1:9",
                  "discover": True, "timeout": 2})
    results = run(cfg)
    assert [(r.result.target, r.result.kind, r.result.outcome, r.connection)
            for r in results] == [("gone", "models", "connect", "new")]


async def echo_key(server: FakeServer, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
    """Refuse every request with OpenAI's 401 wording, echoing the key sent; or, to a request
    without a key, answer a JSON body holding `KEY`."""
    head, _ = await server.read_request(reader)
    sent = headers_of(head).get("authorization", "").removeprefix("Bearer ")
    status, body = ((401, {"error": {"message": f"Incorrect API key provided: {sent}."}})
                    if sent else (200, {"token": KEY}))
    payload = json.dumps(body).encode()
    writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                 f"content-length: {len(payload)}\r\n\r\n".encode() + payload)
    await writer.drain()


def test_no_detail_holds_a_key_even_when_a_server_echoes_one() -> None:
    async def scenario() -> list[OnceResult]:
        async with FakeServer(echo_key) as server:
            url = f"http://127.0.0.1:{server.port}"
            cfg = config(target("keyed", f"{url}/v1", api_key_env="ONCE_TEST_KEY",
                                probes=["completion"]),
                         {"name": "check", "protocol": "http", "base_url": url,
                          "check": {"json_path": "token", "json_equals": "expected"}})
            return await probe_once(cfg, cfg.targets, {"ONCE_TEST_KEY": KEY})

    keyed, check = asyncio.run(scenario())
    assert (keyed.result.outcome, check.result.outcome) == ("auth", "invalid_response")
    for result in (keyed, check):
        assert KEY not in result.result.detail
        assert "[redacted]" in result.result.detail, result.result.detail


def test_select_names_the_configured_targets_of_an_unknown_one() -> None:
    cfg = config(target("a", "http://127.0.0.1:9/v1"), target("b", "http://127.0.0.1:9/v1"))
    assert [t.name for t in select(cfg, None)] == ["a", "b"]
    assert [t.name for t in select(cfg, "b")] == ["b"]
    with pytest.raises(UnknownTarget) as caught:
        select(cfg, "c")
    assert caught.value.valid == ["a", "b"]
    assert str(caught.value) == "unknown target 'c'; configured targets: a, b"


def test_the_longest_run_is_a_slot_wait_and_a_timeout_plus_a_listing() -> None:
    cfg = config(target("a", "http://127.0.0.1:9/v1", timeout=4, interval=60),
                 {"name": "l", "protocol": "ollama", "base_url": "http://127.0.0.1:9",
                  "discover": True, "timeout": 3, "interval": 10})
    assert longest_run_s(cfg, cfg.targets[:1]) == 0.5 * 60 + 4
    assert longest_run_s(cfg, cfg.targets[1:]) == 3 + 0.5 * 10 + 3
    assert longest_run_s(cfg, []) == 0.0
