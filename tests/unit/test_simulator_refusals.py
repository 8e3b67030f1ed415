"""Simulated models that refuse requests as the real ones do (`simulator.refusals`), over real
HTTP: the status and the exact error body of each rule (as the public report named in
`simulator/refusals.py` shows it), presets by name, the request log and the counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from simulator import PRESETS, ModelBehavior, RequestRules, load_models, refusing_models, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
PROMPT = [{"role": "user", "content": "ping"}]
MODELS = {
    **{name: ModelBehavior(**FAST, rules=name) for name in PRESETS},
    "plain": ModelBehavior(**FAST),
}
THINKING = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running(MODELS, seed=5) as url:
        yield url


def openai_error(message: str, param: str | None, code: str | None) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": code}}


@pytest.mark.parametrize(
    ("name", "request_fields", "body"),
    [
        pytest.param("o3-mini", {"max_tokens": 1}, openai_error(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter"),
            id="max_tokens"),
        pytest.param("azure-2024-08-01-preview", {"max_completion_tokens": 1}, openai_error(
            "Unrecognized request argument supplied: max_completion_tokens", None, None),
            id="azure-max_completion_tokens"),
        pytest.param("o3-mini", {"max_completion_tokens": 16, "temperature": 0}, openai_error(
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature", "unsupported_parameter"), id="temperature-unsupported"),
        pytest.param("gpt-5-mini", {"max_completion_tokens": 16, "temperature": 0}, openai_error(
            "Unsupported value: 'temperature' does not support 0 with this model. Only the "
            "default (1) value is supported.", "temperature", "unsupported_value"),
            id="temperature-only-default"),
        pytest.param("o3-mini", {"max_completion_tokens": 16, "reasoning_effort": "minimal"},
                     openai_error("Unsupported value: 'reasoning_effort' does not support "
                                  "'minimal' with this model. Supported values are: 'low', "
                                  "'medium', and 'high'.", "reasoning_effort",
                                  "unsupported_value"), id="effort-by-parameter"),
        pytest.param("gpt-5.1", {"max_completion_tokens": 16, "reasoning_effort": "minimal"},
                     openai_error("Unsupported value: 'minimal' is not supported with the "
                                  "'gpt-5.1' model. Supported values are: 'none', 'low', "
                                  "'medium', and 'high'.", "reasoning_effort",
                                  "unsupported_value"), id="effort-by-model"),
        pytest.param("o1-mini", {"max_completion_tokens": 16, "reasoning_effort": "low"},
                     openai_error("Unsupported parameter: 'reasoning_effort' is not supported "
                                  "with this model.", "reasoning_effort",
                                  "unsupported_parameter"), id="effort-unsupported"),
        pytest.param("o1", {"max_completion_tokens": 16, "stream": True}, openai_error(
            "Unsupported value: 'stream' does not support true with this model. Supported "
            "values are: false.", "stream", "unsupported_value"), id="stream"),
        pytest.param("gpt-5-mini", {"max_completion_tokens": 1}, openai_error(
            "Could not finish the message because max_tokens or model output limit was "
            "reached. Please try again with higher max_tokens.", None, None),
            id="could-not-finish"),
        pytest.param("claude-thinking-gateway", {"max_tokens": 1, "reasoning_effort": "low"},
                     {"type": "error", "error": {
                         "type": "invalid_request_error",
                         "message": "`max_tokens` must be greater than `thinking.budget_tokens`. "
                                    f"Please consult our documentation at {THINKING}"
                                    "#max-tokens-and-context-window-size"},
                      "request_id": "req_simulated"}, id="thinking-through-openai-gateway"),
    ],
)
def test_openai_refusal_bodies(base_url: str, name: str, request_fields: dict, body: dict) -> None:
    response = httpx.post(f"{base_url}/chat/completions",
                          json={"model": name, "messages": PROMPT, **request_fields})
    assert response.status_code == 400
    assert response.json() == body


def test_openrouter_wraps_the_provider_body(base_url: str) -> None:
    response = httpx.post(f"{base_url}/chat/completions",
                          json={"model": "openrouter-gpt-5", "messages": PROMPT, "max_tokens": 10})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["message"] == "Provider returned error"
    assert body["error"]["metadata"]["provider_name"] == "Azure"
    assert json.loads(body["error"]["metadata"]["raw"]) == openai_error(
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but "
        "got 10 instead.", "max_output_tokens", "integer_below_min_value")


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        pytest.param({"max_tokens": 1024}, "`max_tokens` must be greater than "
                     f"`thinking.budget_tokens`. Please consult our documentation at {THINKING}"
                     "#max-tokens-and-context-window-size", id="budget"),
        pytest.param({"max_tokens": 1025, "temperature": 0}, "`temperature` may only be set to 1 "
                     f"when thinking is enabled. Please consult our documentation at {THINKING}"
                     "#important-considerations-when-using-extended-thinking", id="temperature"),
    ],
)
def test_anthropic_thinking_refusals(base_url: str, request_fields: dict, message: str) -> None:
    response = httpx.post(base_url.removesuffix("/v1") + "/anthropic/v1/messages",
                          headers={"anthropic-version": "2023-06-01"},
                          json={"model": "claude-thinking-gateway", "messages": PROMPT,
                                **request_fields})
    assert response.status_code == 400
    assert response.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                          "message": message}}


@pytest.mark.parametrize(
    ("name", "request_fields"),
    [
        pytest.param("o3-mini", {"max_completion_tokens": 16, "reasoning_effort": "low"},
                     id="o3-mini"),
        pytest.param("gpt-5.1", {"max_completion_tokens": 1, "reasoning_effort": "none"},
                     id="gpt-5.1-effort-none-spends-nothing-on-reasoning"),
        pytest.param("gpt-5-mini", {"max_completion_tokens": 16, "temperature": 1},
                     id="gpt-5-mini-default-temperature"),
        pytest.param("claude-thinking-gateway", {"max_tokens": 1}, id="thinking-without-effort"),
        pytest.param("plain", {"max_tokens": 1, "temperature": 0, "reasoning_effort": "xhigh"},
                     id="no-rules"),
    ],
)
def test_requests_within_the_rules_are_answered(base_url: str, name: str,
                                                request_fields: dict) -> None:
    response = httpx.post(f"{base_url}/chat/completions",
                          json={"model": name, "messages": PROMPT, **request_fields})
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "chat.completion"


def test_requests_are_logged_and_refusals_counted() -> None:
    models = {"r": ModelBehavior(**FAST, rules="gpt-5-mini")}
    with running(models) as url, httpx.Client(base_url=url) as http:
        for fields in ({"max_tokens": 1}, {"max_completion_tokens": 16}):
            http.post("/chat/completions", json={"model": "r", "messages": PROMPT, **fields})
        root = url.removesuffix("/v1")
        assert http.get(f"{root}/_sim/requests/r").json() == [
            {"model": "r", "messages": PROMPT, "max_tokens": 1},
            {"model": "r", "messages": PROMPT, "max_completion_tokens": 16},
        ]
        assert http.get(f"{root}/_sim/requests/unknown").json() == []
        assert http.get(f"{root}/_sim/stats").json() == {"r": {"requests": 2, "errors": 0,
                                                               "refused": 1}}


def test_presets_by_name(tmp_path: Path) -> None:
    assert refusing_models()["o3-mini"].rules == PRESETS["o3-mini"]
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  prod-o3: {rules: o3-mini}\n  custom: {rules: {streams: false}}\n")
    models = load_models(path)
    assert models["prod-o3"].rules == PRESETS["o3-mini"]
    assert models["custom"].rules == RequestRules(streams=False)
    # Rules are the model's, whatever phase of its schedule is active.
    flaky = ModelBehavior(rules="o1", schedule=[{"duration": 1}, {"duration": 1, "error_rate": 1}])
    assert flaky.at(1.5).rules == PRESETS["o1"]


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        pytest.param("o9-ultra", "unknown preset 'o9-ultra'", id="unknown-preset"),
        pytest.param({"thinking_budget": 512}, "greater than or equal to 1024",
                     id="thinking-budget-below-anthropic-minimum"),
        pytest.param({"reasoning_efforts": ["tiny"]}, "reasoning_efforts", id="unknown-effort"),
        pytest.param({"streem": False}, "streem", id="unknown-key"),
    ],
)
def test_invalid_rules(rules: object, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        ModelBehavior(rules=rules)
