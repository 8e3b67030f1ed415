"""Requests a simulated model refuses, with the status and error body the real one sends.

`RequestRules` describes what a model demands of a request (which token-limit spelling, no
temperature, which reasoning efforts, a least token limit, no streaming, extended thinking
switched on by a gateway); `openai_refusal` and `anthropic_refusal` answer a request that
breaks a rule with the 400 of the public reports, before any fault or latency. `PRESETS`
name rule sets after the real models they imitate; a behaviour selects one with
`rules: <name>` (Python or YAML).

Error texts and bodies (each as a public report shows it):

* `max_tokens` to a model that takes `max_completion_tokens`: OpenAI `unsupported_parameter`
  (https://github.com/griptape-ai/ComfyUI-Griptape/issues/312).
* `max_completion_tokens` to an Azure API version without it: `Unrecognized request argument
  supplied: max_completion_tokens`, no param, no code
  (https://github.com/openai/openai-python/issues/1724).
* `temperature` other than 1: `unsupported_value` "Only the default (1) value is supported."
  (https://github.com/gabrii/Cursor-Azure-GPT-5/issues/33); or any temperature:
  `unsupported_parameter` (o3-mini, https://github.com/chatboxai/chatbox/issues/1830).
* `reasoning_effort` not accepted: `unsupported_value` naming the parameter
  (https://github.com/Kilo-Org/cloud/pull/3807), naming the model (gpt-5.1,
  https://github.com/anomalyco/opencode/issues/4451), or `unsupported_parameter` when the
  model takes none (o1-mini).
* `stream: true` to a model that does not stream: `unsupported_value` "Supported values
  are: false." (o1 on Azure, https://github.com/github/gh-models/issues/31).
* a token limit below the Responses API's floor, through OpenRouter: "Provider returned
  error" with the provider's body in `metadata.raw`
  (https://github.com/vectorize-io/hindsight/issues/58).
* a token limit the model spends on reasoning before it answers: "Could not finish the
  message because max_tokens or model output limit was reached. Please try again with
  higher max_tokens." (https://github.com/spiceai/spiceai/issues/7126).
* extended thinking: `` `max_tokens` must be greater than `thinking.budget_tokens` ``
  (Anthropic's body, also passed on by OpenAI-compatible gateways,
  https://github.com/router-for-me/CLIProxyAPI/issues/413) and `` `temperature` may only be
  set to 1 when thinking is enabled `` (https://github.com/MartialBE/one-hub/issues/529).

A successful reply is the same as without rules: reasoning tokens are not added to usage.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from simulator.anthropic_shapes import error_body as anthropic_error
from simulator.chat_request import ChatRequest
from simulator.openai_shapes import error_body

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
EFFORT_DEFAULT = "medium"
"""The effort a reasoning model uses when the request names none."""

THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


class RequestRules(BaseModel):
    """What a model demands of a chat request; the defaults demand nothing.

    `token_parameter`: the only spelling of the token limit it takes. `min_output_tokens`: the
    least token limit (a gateway in front of the Responses API). `temperature`: `default_only`
    takes 1 or none, `unsupported` none at all. `reasoning_efforts`: the efforts it takes
    (None: any, ignored; []: the parameter is refused); `effort_error` words the refusal the
    o-series way (`parameter`) or the gpt-5.1 way (`model`). `reasoning_tokens`: tokens it
    reasons before answering, at any effort but `none`; a token limit no larger is refused.
    `streams`: False refuses `stream: true`. `thinking_budget`: a gateway turns on Anthropic
    extended thinking with this budget, always on the Anthropic API and when the request
    names a `reasoning_effort` on the OpenAI one. `wrap`: `openrouter` passes the OpenAI
    route's error body on as OpenRouter does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_parameter: Literal["max_tokens", "max_completion_tokens"] | None = None
    min_output_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Literal["any", "default_only", "unsupported"] = "any"
    reasoning_efforts: list[Effort] | None = None
    effort_error: Literal["parameter", "model"] = "parameter"
    reasoning_tokens: Annotated[int, Field(ge=0)] = 0
    streams: bool = True
    thinking_budget: Annotated[int, Field(ge=1024)] | None = None
    wrap: Literal["openrouter"] | None = None


PRESETS: dict[str, RequestRules] = {
    "o1-mini": RequestRules(token_parameter="max_completion_tokens", temperature="default_only",
                            reasoning_efforts=[], reasoning_tokens=12),
    "o1": RequestRules(token_parameter="max_completion_tokens", temperature="default_only",
                       reasoning_efforts=["low", "medium", "high"], reasoning_tokens=12,
                       streams=False),
    "o3-mini": RequestRules(token_parameter="max_completion_tokens", temperature="unsupported",
                            reasoning_efforts=["low", "medium", "high"], reasoning_tokens=12),
    "gpt-5-mini": RequestRules(token_parameter="max_completion_tokens",
                               temperature="default_only",
                               reasoning_efforts=["minimal", "low", "medium", "high"],
                               reasoning_tokens=8),
    "gpt-5.1": RequestRules(token_parameter="max_completion_tokens", temperature="default_only",
                            reasoning_efforts=["none", "low", "medium", "high"],
                            effort_error="model", reasoning_tokens=8),
    "openrouter-gpt-5": RequestRules(min_output_tokens=16, wrap="openrouter"),
    "azure-2024-08-01-preview": RequestRules(token_parameter="max_tokens"),
    "claude-thinking-gateway": RequestRules(thinking_budget=1024),
}
"""Rule sets named after the real models (or gateways) they imitate."""


def openai_refusal(rules: RequestRules, chat: ChatRequest) -> JSONResponse | None:
    """The 400 an OpenAI-compatible API answers `chat` with under `rules`, or None."""
    extra = chat.model_extra or {}
    body = _openai_body(rules, chat, extra)
    if body is None:
        return None
    if rules.wrap == "openrouter" and "error" in body:
        body = {
            "error": {"message": "Provider returned error", "code": 400,
                      "metadata": {"raw": json.dumps(body, indent=2), "provider_name": "Azure"}},
            "user_id": "user_simulated",
        }
    return JSONResponse(body, status_code=400)


def anthropic_refusal(rules: RequestRules, chat: ChatRequest) -> JSONResponse | None:
    """The 400 an Anthropic Messages API answers `chat` with under `rules`, or None."""
    if rules.thinking_budget is None:
        return None
    message = _thinking(rules.thinking_budget, chat.token_limit, (chat.model_extra or {}))
    if message is None:
        return None
    return JSONResponse(anthropic_error("invalid_request_error", message), status_code=400)


def _openai_body(rules: RequestRules, chat: ChatRequest, extra: dict) -> dict | None:
    unsupported = "Unsupported parameter: '{}' is not supported with this model."
    if rules.token_parameter == "max_completion_tokens" and chat.max_tokens is not None:
        return error_body(unsupported.format("max_tokens") + " Use 'max_completion_tokens' "
                          "instead.", "invalid_request_error", "unsupported_parameter",
                          "max_tokens")
    if rules.token_parameter == "max_tokens" and chat.max_completion_tokens is not None:
        return error_body("Unrecognized request argument supplied: max_completion_tokens",
                          "invalid_request_error", None)
    if not rules.streams and chat.stream:
        return error_body("Unsupported value: 'stream' does not support true with this model. "
                          "Supported values are: false.", "invalid_request_error",
                          "unsupported_value", "stream")
    if "temperature" in extra:
        if rules.temperature == "unsupported":
            return error_body(unsupported.format("temperature"), "invalid_request_error",
                              "unsupported_parameter", "temperature")
        if rules.temperature == "default_only" and extra["temperature"] != 1:
            return error_body(f"Unsupported value: 'temperature' does not support "
                              f"{json.dumps(extra['temperature'])} with this model. Only the "
                              "default (1) value is supported.", "invalid_request_error",
                              "unsupported_value", "temperature")
    effort = extra.get("reasoning_effort")
    if effort is not None and rules.reasoning_efforts is not None:
        refused = _effort_refusal(rules, chat.model, effort)
        if refused is not None:
            return refused
    limit = chat.token_limit
    if rules.min_output_tokens is not None and limit is not None and limit < rules.min_output_tokens:
        return error_body(f"Invalid 'max_output_tokens': integer below minimum value. Expected a "
                          f"value >= {rules.min_output_tokens}, but got {limit} instead.",
                          "invalid_request_error", "integer_below_min_value",
                          "max_output_tokens")
    if rules.thinking_budget is not None and effort is not None:
        message = _thinking(rules.thinking_budget, limit, {})
        if message is not None:
            return {**anthropic_error("invalid_request_error", message),
                    "request_id": "req_simulated"}
    reasoning = rules.reasoning_tokens if (effort or EFFORT_DEFAULT) != "none" else 0
    if limit is not None and reasoning and limit <= reasoning:
        return error_body("Could not finish the message because max_tokens or model output limit "
                          "was reached. Please try again with higher max_tokens.",
                          "invalid_request_error", None)
    return None


def _effort_refusal(rules: RequestRules, model: str, effort: object) -> dict | None:
    accepted = rules.reasoning_efforts or []
    if not accepted:
        return error_body("Unsupported parameter: 'reasoning_effort' is not supported with this "
                          "model.", "invalid_request_error", "unsupported_parameter",
                          "reasoning_effort")
    if effort in accepted:
        return None
    values = _enumerate(accepted)
    if rules.effort_error == "model":
        message = (f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
                   f"Supported values are: {values}.")
    else:
        message = (f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this "
                   f"model. Supported values are: {values}.")
    return error_body(message, "invalid_request_error", "unsupported_value", "reasoning_effort")


def _thinking(budget: int, limit: int | None, extra: dict) -> str | None:
    """Anthropic's refusal of a request with extended thinking on, or None."""
    if limit is not None and limit <= budget:
        return ("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                f"documentation at {THINKING_DOCS}#max-tokens-and-context-window-size")
    if "temperature" in extra and extra["temperature"] != 1:
        return ("`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                f"documentation at {THINKING_DOCS}#important-considerations-when-using-extended-"
                "thinking")
    return None


def _enumerate(values: list[str]) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b', and 'c'` as OpenAI lists values."""
    quoted = [f"'{value}'" for value in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
