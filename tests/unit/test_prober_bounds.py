"""Probe bounds: how long a probe may wait for its first byte and sit through a silence, rule
by rule, from recorded timings (no server)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.bounds import HISTORY, BoundHistory, BoundRules, Bounds
from prober.outcome import ProbeResult
from simulator.latency import sample_latency
from simulator.scenarios import demo_models

RULES = BoundRules(timeout=10.0, first_byte="auto", gap="auto", factor=4.0, floor=1.0,
                   samples=5, lift_after=6)


def ok(first_byte: float | None, silence: float | None = None) -> ProbeResult:
    return ProbeResult(target="t", kind="completion", outcome="ok", duration_s=1.0,
                       first_byte_s=first_byte, max_silence_s=silence)


def history(results: list[ProbeResult], rules: BoundRules = RULES) -> BoundHistory:
    seen = BoundHistory(rules)
    for result in results:
        seen.learn(result)
    return seen


FAST = [ok(0.05, None)] * 4 + [ok(0.12, 0.01)]
SLOW = [ok(2.0), ok(3.1), ok(2.5), ok(2.2), ok(2.9)]


@pytest.mark.parametrize(("results", "failures", "rules", "bounds"), [
    pytest.param([], 0, RULES, Bounds(None, None), id="no-history-no-bound"),
    pytest.param(FAST[:4], 0, RULES, Bounds(None, None), id="fewer-than-samples-no-bound"),
    pytest.param(FAST, 0, RULES, Bounds(1.0, 1.0), id="fast-target-gets-the-floor"),
    pytest.param([ok(0.3, 0.4)] * 5, 0, RULES, Bounds(1.2, 1.6), id="factor-times-largest"),
    pytest.param([ok(0.4, 0.1)] * 5, 0, RULES, Bounds(1.6, 1.6),
                 id="a-body-may-pause-as-long-as-it-took-to-start"),
    pytest.param(SLOW, 0, RULES, Bounds(None, None), id="slow-first-byte-reaches-timeout"),
    pytest.param([ok(2.0, 0.01)] * 5, 0, RULES, Bounds(8.0, 8.0), id="slow-start-long-gap"),
    pytest.param(FAST, 5, RULES, Bounds(1.0, 1.0), id="bound-holds-while-confirming"),
    pytest.param(FAST, 6, RULES, Bounds(None, None), id="lifted-once-backed-off"),
    pytest.param([], 0, replace(RULES, first_byte=2.0, gap=0.5), Bounds(2.0, 0.5),
                 id="fixed-bounds-need-no-history"),
    pytest.param([], 9, replace(RULES, first_byte=2.0, gap=0.5), Bounds(2.0, 0.5),
                 id="fixed-bounds-never-lifted"),
    pytest.param([], 0, replace(RULES, first_byte=10.0, gap=12.0), Bounds(None, None),
                 id="fixed-bound-at-timeout-is-none"),
    pytest.param(FAST, 0, replace(RULES, first_byte=3.0), Bounds(3.0, 1.0),
                 id="fixed-and-auto-mixed"),
    pytest.param([ok(0.05)] * 5, 0, replace(RULES, floor=0.3), Bounds(0.3, 0.3),
                 id="floor-setting"),
])
def test_bounds(results: list[ProbeResult], failures: int, rules: BoundRules,
                bounds: Bounds) -> None:
    got = history(results, rules).bounds(failures)
    assert (got.first_byte, got.gap) == pytest.approx((bounds.first_byte, bounds.gap))


@pytest.mark.parametrize("result", [
    pytest.param(replace(ok(0.05), outcome="timeout"), id="failure"),
    pytest.param(ok(None), id="no-body-byte"),
])
def test_only_successes_with_a_body_are_learnt(result: ProbeResult) -> None:
    seen = history([*FAST[:4], *[result] * 10])
    assert seen.bounds(0) == Bounds(None, None)


def test_old_probes_are_forgotten() -> None:
    seen = history([ok(2.0)] + [ok(0.1)] * (HISTORY - 1))
    assert seen.bounds(0).first_byte == pytest.approx(8.0)  # 2.0 s is still in the window
    seen.learn(ok(0.1))
    assert seen.bounds(0).first_byte == pytest.approx(1.0)


def test_rules_from_config_and_target_overrides() -> None:
    config = Config.model_validate({
        "prober": {"timeout": "8s", "first_byte_timeout": "3s", "auto_timeout_factor": 3,
                   "auto_timeout_floor": "500ms", "auto_timeout_samples": 7, "backoff_after": 4},
        "targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"},
                    {"name": "b", "base_url": "http://x/v1", "model": "m",
                     "first_byte_timeout": "auto", "gap_timeout": 2, "timeout": 20}]})
    a, b = config.targets
    assert BoundRules.of(config, a, "stream") == BoundRules(8.0, 3.0, "auto", 3.0, 0.5, 7, 4)
    assert BoundRules.of(config, b, "stream") == BoundRules(20.0, "auto", 2.0, 3.0, 0.5, 7, 4)


@pytest.mark.parametrize(("protocol", "kind", "first_byte"), [
    pytest.param("ollama", "completion", 10.0, id="local-chat-no-auto-first-byte"),
    pytest.param("lmstudio", "stream", 10.0, id="local-stream-no-auto-first-byte"),
    pytest.param("ollama", "models", "auto", id="local-models-auto"),
    pytest.param("openai", "completion", "auto", id="remote-chat-auto"),
])
def test_local_servers_load_models_before_their_first_byte(protocol: str, kind: str,
                                                          first_byte: object) -> None:
    target = Target(name="t", protocol=protocol, base_url="http://x", model="m")
    rules = BoundRules.of(Config(), target, kind)
    assert (rules.first_byte, rules.gap) == (first_byte, "auto")
    seen = history([ok(0.2)] * 5, rules)
    assert seen.bounds(0).first_byte == (None if first_byte == 10.0 else pytest.approx(1.0))


def test_a_fixed_bound_holds_for_local_servers_too() -> None:
    target = Target(name="t", protocol="ollama", base_url="http://x", model="m",
                    first_byte_timeout=4)
    assert BoundRules.of(Config(), target, "completion").first_byte == 4.0


@pytest.mark.parametrize(("value", "message"), [
    pytest.param("soon", "invalid duration 'soon': use a number of seconds or e.g. 500ms, 10s, "
                 "5m, 1h, or auto", id="not-a-duration"),
    pytest.param(0, "must be greater than 0, or auto", id="zero"),
])
def test_bound_settings_are_validated(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Target(name="a", base_url="http://x/v1", model="m", first_byte_timeout=value)


@pytest.mark.parametrize("kind", ["completion", "stream"])
def test_demo_slow_is_never_cut(kind: str) -> None:
    """10,000 probes of the demo's slow model at the default settings, its first bytes drawn
    from the simulator's own distribution (completion: the whole latency, p50 3 s, p99 8 s;
    stream: TTFT, p50 2.5 s, p99 6 s): the bound never cuts one that the timeout would not."""
    slow = demo_models()["demo-slow"]
    p50, p99 = ((slow.latency_p50, slow.latency_p99) if kind == "completion"
                else (slow.ttft_p50, slow.ttft_p99))
    rules = BoundRules.of(Config(), Target(name="t", base_url="http://x/v1", model="m"), kind)
    rng, seen, cut = random.Random(14), BoundHistory(rules), 0
    for _ in range(10_000):
        first_byte = sample_latency(rng, p50, p99)
        bound = seen.bounds(0).first_byte
        if bound is not None and bound < first_byte < rules.timeout:
            cut += 1
        elif first_byte < rules.timeout:
            seen.learn(ok(first_byte, 0.005))
    assert cut == 0
