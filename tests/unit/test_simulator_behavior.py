"""Simulator behaviours without HTTP: schedules, latency sampling, validation, loading."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from simulator import ModelBehavior, demo_models, load_models, sample_latency

FLAKY = ModelBehavior(
    latency_p50=0.1,
    latency_p99=0.2,
    schedule=[
        {"duration": 60},
        {"duration": 30, "error_rate": 1.0, "error_kind": "http_429", "latency_p99": 0.5},
    ],
)


@pytest.mark.parametrize(
    ("elapsed", "error_rate", "error_kind", "latency_p99"),
    [
        pytest.param(0.0, 0.0, "http_500", 0.2, id="start-of-healthy-phase"),
        pytest.param(59.9, 0.0, "http_500", 0.2, id="end-of-healthy-phase"),
        pytest.param(60.0, 1.0, "http_429", 0.5, id="failing-phase-begins"),
        pytest.param(89.9, 1.0, "http_429", 0.5, id="end-of-failing-phase"),
        pytest.param(90.0, 0.0, "http_500", 0.2, id="cycle-restarts"),
        pytest.param(90.0 * 1000 + 75, 1.0, "http_429", 0.5, id="thousandth-cycle"),
    ],
)
def test_schedule_phase_switching(
    elapsed: float, error_rate: float, error_kind: str, latency_p99: float
) -> None:
    effective = FLAKY.at(elapsed)
    assert (effective.error_rate, effective.error_kind) == (error_rate, error_kind)
    assert effective.latency_p99 == latency_p99
    assert effective.latency_p50 == 0.1
    assert effective.schedule == []


def test_without_schedule_at_is_the_base_behavior() -> None:
    base = ModelBehavior(error_rate=0.25)
    assert base.at(12345.6) == base


@pytest.mark.parametrize(
    ("p50", "p99"),
    [
        pytest.param(0.04, 0.12, id="healthy"),
        pytest.param(3.0, 8.0, id="slow"),
        pytest.param(0.5, 0.55, id="tight"),
    ],
)
def test_sample_latency_matches_configured_percentiles(p50: float, p99: float) -> None:
    rng = random.Random(1234)
    samples = np.array([sample_latency(rng, p50, p99) for _ in range(5000)])
    assert np.percentile(samples, 50) == pytest.approx(p50, rel=0.15)
    assert np.percentile(samples, 99) == pytest.approx(p99, rel=0.15)
    assert samples.min() > 0


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        pytest.param({"latency_p50": 2.0, "latency_p99": 1.0}, "latency_p99", id="p99-below-p50"),
        pytest.param({"ttft_p50": 0.5, "ttft_p99": 0.1}, "ttft_p99", id="ttft-p99-below-p50"),
        pytest.param({"latencyp50": 0.1}, "latencyp50", id="unknown-key"),
        pytest.param({"error_rate": 1.01}, "error_rate", id="error-rate-above-1"),
        pytest.param({"tokens_per_second": 0}, "tokens_per_second", id="zero-throughput"),
        pytest.param({"schedule": [{"duration": 0}]}, "duration", id="zero-phase-duration"),
        pytest.param(
            {"schedule": [{"duration": 5, "schedule": []}]}, "schedule", id="nested-schedule"
        ),
        pytest.param(
            {"schedule": [{"duration": 5, "latency_p50": 9.0}]}, "schedule[0]", id="phase-p50>p99"
        ),
    ],
)
def test_invalid_behavior_rejected(fields: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle.replace("[", r"\[")):
        ModelBehavior.model_validate(fields)


def test_demo_models_cover_the_demo_cases() -> None:
    models = demo_models()
    assert set(models) == {"demo-healthy", "demo-slow", "demo-down", "demo-flaky", "demo-coinflip"}
    assert models["demo-healthy"].error_rate == 0 and models["demo-healthy"].latency_p99 <= 0.12
    slow = models["demo-slow"]
    assert slow.error_rate == 0 and slow.latency_p99 > 5.0 and slow.ttft_p99 > 2.0
    assert models["demo-down"].error_rate == 1.0
    flaky = models["demo-flaky"]
    assert flaky.at(30).error_rate == 0.0 and flaky.at(90).error_rate == 1.0
    assert models["demo-coinflip"].error_rate == 0.5


def test_load_models_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  fast: {latency_p50: 0.01, latency_p99: 0.02}\n"
        "  broken:\n"
        "    error_rate: 1.0\n"
        "    error_kind: http_429\n"
        "    schedule: [{duration: 10}, {duration: 5, error_rate: 0.0}]\n"
    )
    models = load_models(path)
    assert models["fast"] == ModelBehavior(latency_p50=0.01, latency_p99=0.02)
    assert models["broken"].at(12).error_rate == 0.0
    assert models["broken"].at(3).error_kind == "http_429"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("models:\n  a: {error_rat: 1}\n", "models.a.error_rat", id="typo-in-field"),
        pytest.param("modles: {}\n", "modles", id="typo-at-top-level"),
        pytest.param(
            "models:\n  a: {error_kind: http_418}\n", "models.a.error_kind", id="bad-kind"
        ),
        pytest.param("models: [\n", "not valid YAML", id="broken-yaml"),
        pytest.param("", "(top level)", id="empty-file"),
    ],
)
def test_load_models_rejects_bad_files(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        load_models(path)
    assert "sim.yaml" in str(caught.value) and needle in str(caught.value)
