"""Recognising a refused probe request (`prober.refusal_texts`): each error body as a public
report shows it (the report is named beside it), what it corrects, and the 400s it must not
claim.
The probes against real HTTP are in test_prober_rejections_http.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from llmhealth_config.target import Target
from prober.chat_shape import ChatShape, initial_shape
from prober.refusal_texts import Sent, recognise

PLAIN_TARGET = Target(name="t", base_url="https://api.openai.com/v1", model="prod-model")
REASONING_TARGET = Target(name="t", base_url="https://api.openai.com/v1", model="prod-model",
                          reasoning=True)
ANTHROPIC_TARGET = Target(name="t", protocol="anthropic", base_url="https://api.anthropic.com",
                          model="claude-sonnet-4-5")
PLAIN = initial_shape(PLAIN_TARGET)
REASONING = initial_shape(REASONING_TARGET)
PING = [{"role": "user", "content": "ping"}]


def openai_error(message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> dict[str, object]:
    """OpenAI's error object: https://platform.openai.com/docs/guides/error-codes/api-errors"""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def anthropic_error(message: str) -> dict[str, object]:
    """Anthropic's error body: https://docs.anthropic.com/en/api/errors"""
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def plain_payload(tokens: int = 1) -> dict[str, object]:
    return {"model": "prod-model", "messages": PING, "max_tokens": tokens, "temperature": 0}


def reasoning_payload(tokens: int = 1, effort: str | None = "low") -> dict[str, object]:
    payload: dict[str, object] = {"model": "prod-model", "messages": PING,
                                  "max_completion_tokens": tokens}
    return payload if effort is None else {**payload, "reasoning_effort": effort}


def anthropic_payload(tokens: int = 1) -> dict[str, object]:
    return {"model": "claude-sonnet-4-5", "max_tokens": tokens, "temperature": 0, "messages": PING}


MAX_TOKENS = openai_error(  # https://github.com/griptape-ai/ComfyUI-Griptape/issues/312
    "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
    "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")
AZURE_MAX_COMPLETION_TOKENS = openai_error(  # https://github.com/openai/openai-python/issues/1724
    "Unrecognized request argument supplied: max_completion_tokens")
TEMPERATURE_DEFAULT = openai_error(  # https://github.com/gabrii/Cursor-Azure-GPT-5/issues/33
    "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) "
    "value is supported.", "temperature", "unsupported_value")
TEMPERATURE_UNSUPPORTED = openai_error(  # https://github.com/chatboxai/chatbox/issues/1830
    "Unsupported parameter: 'temperature' is not supported with this model.", "temperature",
    "unsupported_parameter")
EFFORT_BY_PARAMETER = {"error": {  # https://github.com/Kilo-Org/cloud/pull/3807
    "message": "Unsupported value: 'reasoning_effort' does not support 'none' with this model. "
               "Supported values are: 'minimal', 'low', 'medium', and 'high'.",
    "type": "invalid_request_error"}}
EFFORT_BY_MODEL = openai_error(  # https://github.com/anomalyco/opencode/issues/4451
    "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values "
    "are: 'none', 'low', 'medium', and 'high'.", "***.effort", "unsupported_value")
EFFORT_UNSUPPORTED = openai_error(  # o1-mini, in the o-series' unsupported_parameter form
    "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
    "reasoning_effort", "unsupported_parameter")
STREAM = openai_error(  # https://github.com/github/gh-models/issues/31
    "Unsupported value: 'stream' does not support true with this model. Supported values are: "
    "false.", "stream", "unsupported_value")
FLOOR_OPENROUTER = {  # https://github.com/vectorize-io/hindsight/issues/58
    "error": {
        "message": "Provider returned error", "code": 400,
        "metadata": {
            "raw": "{\n  \"error\": {\n    \"message\": \"Invalid 'max_output_tokens': integer below "
                   "minimum value. Expected a value >= 16, but got 10 instead.\",\n    \"type\": "
                   "\"invalid_request_error\",\n    \"param\": \"max_output_tokens\",\n    \"code\": "
                   "\"integer_below_min_value\"\n  }\n}",
            "provider_name": "Azure"},
    },
    "user_id": "x",
}
FLOOR_PLAIN = {"error": {  # https://github.com/wm94i/Work-Review/issues/41
    "message": "Invalid 'max_output_tokens': integer below minimum value. Expected a value >=16, "
               "but got 5 instead.", "type": "invalid_request_error"}}
COULD_NOT_FINISH = openai_error(  # https://github.com/spiceai/spiceai/issues/7126
    "Could not finish the message because max_tokens or model output limit was reached. Please "
    "try again with higher max_tokens.")
THINKING_BUDGET = {  # https://github.com/router-for-me/CLIProxyAPI/issues/413
    **anthropic_error("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                      "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                      "extended-thinking#max-tokens-and-context-window-size"),
    "request_id": "req_vrtx_011CVY6Kd4nhjQfgPQKNCvb1",
}
THINKING_BUDGET_VERTEX = {  # https://github.com/liuw1535/antigravity2api-nodejs/issues/150
    "error": {"code": 400, "message": json.dumps(THINKING_BUDGET), "status": "INVALID_ARGUMENT"}}
THINKING_BUDGET_STATED = anthropic_error(  # the same rule with the numbers stated
    "max_tokens: 1 must be greater than thinking.budget_tokens: 1024")
THINKING_MINIMUM = anthropic_error(  # https://github.com/danny-avila/LibreChat/issues/8346
    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
THINKING_TEMPERATURE = {"error": {  # https://github.com/egoist/chatwise-releases/issues/1348
    "message": "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
               "documentation at (request id: xxx)", "type": "<nil>", "param": "", "code": None}}


@pytest.mark.parametrize(
    ("body", "payload", "shape", "target", "corrected", "says"),
    [
        pytest.param(MAX_TOKENS, plain_payload(), PLAIN, PLAIN_TARGET,
                     replace(PLAIN, token_parameter="max_completion_tokens"),
                     "set reasoning: true", id="max_tokens-use-max_completion_tokens"),
        pytest.param(AZURE_MAX_COMPLETION_TOKENS, reasoning_payload(16), REASONING,
                     REASONING_TARGET, replace(REASONING, token_parameter="max_tokens"),
                     "reasoning: false", id="azure-unrecognized-max_completion_tokens"),
        pytest.param(TEMPERATURE_DEFAULT, plain_payload(), PLAIN, PLAIN_TARGET,
                     replace(PLAIN, temperature=False), "set reasoning: true",
                     id="temperature-only-default"),
        pytest.param(TEMPERATURE_UNSUPPORTED, plain_payload(), PLAIN, PLAIN_TARGET,
                     replace(PLAIN, temperature=False), "set reasoning: true",
                     id="temperature-unsupported"),
        pytest.param(EFFORT_BY_PARAMETER, reasoning_payload(effort="none"),
                     replace(REASONING, effort="none"), REASONING_TARGET,
                     replace(REASONING, effort="minimal"), "reasoning_effort: minimal",
                     id="effort-listed-by-parameter"),
        pytest.param(EFFORT_BY_MODEL, reasoning_payload(effort="minimal"),
                     replace(REASONING, effort="minimal"), REASONING_TARGET,
                     replace(REASONING, effort="none"), "reasoning_effort: none",
                     id="effort-listed-by-model"),
        pytest.param(EFFORT_UNSUPPORTED, reasoning_payload(), REASONING, REASONING_TARGET,
                     replace(REASONING, effort=None), None, id="effort-unsupported"),
        pytest.param(STREAM, {**reasoning_payload(8), "stream": True}, REASONING,
                     REASONING_TARGET, None, "remove stream from this target's probes",
                     id="stream-unsupported"),
        pytest.param(FLOOR_OPENROUTER, plain_payload(), PLAIN, PLAIN_TARGET,
                     replace(PLAIN, least_tokens=16), "max_output_tokens: 16",
                     id="floor-wrapped-by-openrouter"),
        pytest.param(FLOOR_PLAIN, reasoning_payload(), REASONING, REASONING_TARGET,
                     replace(REASONING, least_tokens=16), "max_output_tokens: 16",
                     id="floor-without-param"),
        pytest.param(COULD_NOT_FINISH, reasoning_payload(1), REASONING, REASONING_TARGET,
                     replace(REASONING, least_tokens=16), "max_output_tokens: 16",
                     id="could-not-finish-1-to-16"),
        pytest.param(COULD_NOT_FINISH, reasoning_payload(16), replace(REASONING, least_tokens=16),
                     REASONING_TARGET, replace(REASONING, least_tokens=64),
                     "max_output_tokens: 64", id="could-not-finish-16-to-64"),
        pytest.param(COULD_NOT_FINISH, reasoning_payload(256),
                     replace(REASONING, least_tokens=256), REASONING_TARGET, None,
                     "lower reasoning_effort or a larger max_output_tokens",
                     id="could-not-finish-at-the-top"),
        pytest.param(THINKING_BUDGET, reasoning_payload(), REASONING, REASONING_TARGET,
                     replace(REASONING, effort=None), None, id="thinking-budget-from-effort"),
        pytest.param(THINKING_BUDGET, anthropic_payload(), PLAIN, ANTHROPIC_TARGET, None,
                     "at least 1025", id="thinking-budget-anthropic"),
        pytest.param(THINKING_BUDGET_VERTEX, anthropic_payload(), PLAIN, ANTHROPIC_TARGET, None,
                     "at least 1025", id="thinking-budget-wrapped-by-vertex"),
        pytest.param(THINKING_BUDGET_STATED, anthropic_payload(), PLAIN, ANTHROPIC_TARGET,
                     replace(PLAIN, least_tokens=1025), "max_output_tokens: 1025",
                     id="thinking-budget-stated"),
        pytest.param(THINKING_MINIMUM, anthropic_payload(), PLAIN, ANTHROPIC_TARGET, None,
                     "below Anthropic's minimum (1024)", id="thinking-minimum"),
        pytest.param(THINKING_TEMPERATURE, anthropic_payload(1025),
                     replace(PLAIN, least_tokens=1025), ANTHROPIC_TARGET,
                     replace(PLAIN, least_tokens=1025, temperature=False), None,
                     id="thinking-temperature"),
    ],
)
def test_recognised_rejection(body: dict, payload: dict, shape: ChatShape, target: Target,
                              corrected: ChatShape | None, says: str | None) -> None:
    rejection = recognise(body, Sent(payload, shape, target))
    assert rejection is not None
    assert rejection.corrected == corrected
    assert rejection.message and "{" not in rejection.message  # the provider's own sentence
    if corrected is None:
        assert says is not None and says in (rejection.advice or "")
        assert rejection.detail().startswith(rejection.advice or "")
    elif says is None:
        assert rejection.advice is None
    else:
        assert says in (rejection.advice or "")


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        pytest.param(openai_error(  # https://github.com/langgenius/dify/issues/18971
            "Unsupported parameter: 'stop' is not supported with this model.", "stop",
            "unsupported_parameter"), plain_payload(), id="parameter-not-sent"),
        pytest.param(openai_error(  # https://github.com/chatboxai/chatbox/issues/1529
            "Unsupported value: 'messages[0].role' does not support 'system' with this model.",
            "messages[0].role", "unsupported_value"), plain_payload(), id="value-not-sent"),
        pytest.param(openai_error(
            "This model is not supported in the v1/chat/completions endpoint"), plain_payload(),
            id="endpoint-not-a-parameter"),
        pytest.param(openai_error("The model `gpt-4o-mini` does not exist or you do not have "
                                  "access to it.", None, "model_not_found"), plain_payload(),
                     id="unknown-model"),
        pytest.param(TEMPERATURE_DEFAULT, reasoning_payload(), id="temperature-not-sent"),
        pytest.param(EFFORT_BY_MODEL, plain_payload(), id="effort-not-sent"),
        pytest.param({"error": "x" * 20 + "{" * 5000}, plain_payload(), id="hostile-braces"),
    ],
)
def test_other_400s_are_not_rejections(body: dict, payload: dict) -> None:
    assert recognise(body, Sent(payload, PLAIN, PLAIN_TARGET)) is None


def test_nesting_beyond_the_depth_limit_is_not_read() -> None:
    body: object = MAX_TOKENS
    for _ in range(12):
        body = {"error": {"message": json.dumps(body)}}
    assert recognise(body, Sent(plain_payload(), PLAIN, PLAIN_TARGET)) is None  # type: ignore[arg-type]
