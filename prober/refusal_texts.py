"""Which provider texts mean "this probe request was refused", and how to correct it.

`recognise` reads the body of an HTTP 400 and finds the provider texts that mean "this
request was refused": each names a parameter the probe sent (its token limit, temperature,
reasoning effort, streaming) and, where the text says how, yields the corrected `ChatShape`.
`prober.rejection` retries with it.

The texts, their sources and the correction of each (docs/metrics.md, "probe_rejected"):

* `Unsupported parameter: 'max_tokens' is not supported with this model. Use
  'max_completion_tokens' instead.` (OpenAI o-series and gpt-5,
  https://github.com/griptape-ai/ComfyUI-Griptape/issues/312): send `max_completion_tokens`.
* `Unrecognized request argument supplied: max_completion_tokens` (Azure OpenAI before
  api-version 2024-09-01-preview, https://github.com/openai/openai-python/issues/1724):
  send `max_tokens`. The same text for `reasoning_effort`, `temperature` or
  `stream_options`: leave that parameter out.
* `Unsupported parameter: 'temperature' is not supported with this model.` (o3-mini,
  https://github.com/chatboxai/chatbox/issues/1830) and `Unsupported value: 'temperature'
  does not support 0 with this model. Only the default (1) value is supported.` (gpt-5,
  https://github.com/QwenLM/qwen-code/issues/921): leave `temperature` out.
* `Unsupported parameter: 'reasoning_effort' is not supported with this model.` (o1-mini):
  leave `reasoning_effort` out.
* `Unsupported value: 'reasoning_effort' does not support 'none' with this model. Supported
  values are: 'minimal', 'low', 'medium', and 'high'.`
  (https://github.com/Kilo-Org/cloud/pull/3807) and `Unsupported value: 'minimal' is not
  supported with the 'gpt-5.1' model. Supported values are: 'none', 'low', 'medium', and
  'high'.` (https://github.com/anomalyco/opencode/issues/4451): the smallest value listed.
* `Unsupported value: 'stream' does not support true with this model. Supported values
  are: false.` (o1, https://github.com/github/gh-models/issues/31): not correctable; the
  operator removes `stream` from the target's probes.
* `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but
  got 1 instead.` (the Responses API behind a gateway, also wrapped in OpenRouter's
  `metadata.raw`, https://github.com/vectorize-io/hindsight/issues/58): raise the token
  limit to the stated floor.
* `Could not finish the message because max_tokens or model output limit was reached.
  Please try again with higher max_tokens.` (a reasoning model that spent the whole limit
  before answering, https://github.com/spiceai/spiceai/issues/7126): raise the limit along
  16, 64, 256 tokens; beyond that, not correctable.
* `` `max_tokens` must be greater than `thinking.budget_tokens` `` (Anthropic extended
  thinking switched on by a gateway, https://github.com/router-for-me/CLIProxyAPI/issues/413)
  and `thinking.enabled.budget_tokens: Input should be greater than or equal to 1024`
  (https://github.com/danny-avila/LibreChat/issues/8346): leave `reasoning_effort` out when
  the probe sent it (the gateway turned it into the thinking budget); else raise the limit
  above a stated budget, or not correctable.
* `` `temperature` may only be set to 1 when thinking is enabled `` (a `#thinking` model
  behind a gateway, https://github.com/MartialBE/one-hub/issues/529): leave `temperature` out.

A 200 whose budget went to reasoning (`finish_reason: length`, no content) is not a
rejection: the model answered, and a larger budget would only spend more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from llmhealth_config.target import MAX_OUTPUT_TOKENS, Target
from prober.chat_shape import EFFORTS, TOKEN_PARAMETERS, ChatShape

BUDGET_LADDER = (16, 64, 256)
"""Token limits a reasoning model that used up its limit is retried with, in turn."""
MESSAGE_LIMIT = 200
MAX_DEPTH = 10
"""How deep `_texts` reads nested JSON (OpenRouter's provider body is a string 3 levels down,
its message 3 levels further)."""
CONFIGURABLE_EFFORTS = ("none", "minimal", "low", "medium", "high")
"""The `reasoning_effort` values a target may set (llmhealth_config.target)."""


@dataclass(frozen=True)
class Sent:
    """The request a rejection is judged against: its JSON body, the shape it was built from
    and the target."""

    payload: dict[str, object]
    shape: ChatShape
    target: Target


@dataclass(frozen=True)
class Rejection:
    """A refused request. `corrected` is the shape the provider's text asks for (None: it
    does not say how); `change` says what that shape sends differently; `advice` what the
    operator can change in the target's configuration (None: nothing needs to change)."""

    message: str
    corrected: ChatShape | None
    change: str = ""
    advice: str | None = None

    def detail(self) -> str:
        """The probe's detail when it ends rejected."""
        if self.corrected is None:
            return f"{self.advice} (HTTP 400: {self.message})"
        return f"corrected for the next probe: {self.change} (HTTP 400: {self.message})"


def recognise(document: dict[str, object], sent: Sent) -> Rejection | None:
    """The rejection a 400's error body states, or None when no text of it names a
    parameter of `sent`. Texts nested in other texts (a gateway that passes the provider's
    body on as a string) are read first."""
    for text in _texts(document):
        for pattern, judge in _MATCHERS:
            match = pattern.search(text)
            if match is None:
                continue
            found = judge(match, sent)
            if found is not None:
                message = " ".join(text.split())[:MESSAGE_LIMIT]
                return replace(found, message=message)
    return None


# --- reading an error body ------------------------------------------------------------------


def _texts(value: object, depth: int = 0) -> Iterator[str]:
    """Every string in a JSON value, depth first; a string that holds a JSON document (after
    an optional prefix, e.g. `AnthropicException - {...}`) yields that document's strings
    first, then itself unless it is nothing but the document."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        start = value.find("{")
        inner = _json_document(value[start:]) if start >= 0 else None
        if inner is not None:
            yield from _texts(inner, depth + 1)
            if not value[:start].strip():
                return
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:20]:
            yield from _texts(item, depth + 1)


def _json_document(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _listed(values: str | None) -> list[str]:
    """`'low', 'medium', and 'high'` or `false` as a list of values."""
    if not values:
        return []
    quoted = re.findall(r"'([\w.-]+)'", values)
    return quoted or [v.strip() for v in re.split(r",|\band\b", values) if v.strip()]


# --- what each text means -------------------------------------------------------------------

Judge = Callable[[re.Match[str], Sent], Rejection | None]

_PARAM = r"[\w.*\[\]]{1,60}"


def _token_parameter(sent: Sent) -> tuple[str, int] | None:
    for name in TOKEN_PARAMETERS:
        value = sent.payload.get(name)
        if isinstance(value, int):
            return name, value
    return None


def _fixed(shape: ChatShape, change: str, advice: str | None = None) -> Rejection:
    return Rejection("", shape, change, advice)


def _refused(advice: str) -> Rejection:
    return Rejection("", None, "", advice)


def _openai_like(sent: Sent) -> bool:
    return sent.target.protocol in ("openai", "azure", "lmstudio")


def _reasoning_advice(sent: Sent) -> str | None:
    """How a target starts with `max_completion_tokens` and no temperature, where a setting
    does that."""
    if sent.target.protocol in ("openai", "azure") and sent.target.reasoning is not True:
        return "set reasoning: true on this target"
    return None


def _without(name: str, instead: str | None, sent: Sent) -> Rejection | None:
    """The correction for a parameter the endpoint does not take at all."""
    payload, shape = sent.payload, sent.shape
    budget = _token_parameter(sent)
    if budget is not None and name == budget[0]:
        if not _openai_like(sent):
            return _refused(f"the endpoint does not take {name}: check the target's protocol")
        other = instead if instead in TOKEN_PARAMETERS and instead != name else next(
            p for p in TOKEN_PARAMETERS if p != name)
        if other == "max_completion_tokens":
            return _fixed(replace(shape, token_parameter=other), f"{other} instead of {name}",
                          _reasoning_advice(sent))
        return _fixed(replace(shape, token_parameter=other), f"{other} instead of {name}",
                      "set reasoning: false on this target, or (Azure) use a newer api_version")
    if name == "temperature" and "temperature" in payload:
        return _fixed(replace(shape, temperature=False), "no temperature", _reasoning_advice(sent))
    if name == "reasoning_effort" and "reasoning_effort" in payload:
        advice = ("remove reasoning_effort from this target" if sent.target.reasoning_effort
                  else None)
        return _fixed(replace(shape, effort=None), "no reasoning_effort", advice)
    if name == "stream_options" and "stream_options" in payload:
        return _fixed(replace(shape, stream_options=False), "no stream_options (streams report "
                      "no usage)")
    if name == "stream" and payload.get("stream"):
        return _refused("the model does not stream: remove stream from this target's probes")
    return None


def _unsupported_parameter(match: re.Match[str], sent: Sent) -> Rejection | None:
    return _without(match["param"], match["instead"], sent)


def _unrecognized_argument(match: re.Match[str], sent: Sent) -> Rejection | None:
    return _without(match["param"], None, sent)


def _effort(values: list[str], sent: Sent) -> Rejection:
    """The smallest reasoning effort of those the provider lists."""
    accepted = [effort for effort in EFFORTS if effort in values]
    if not accepted or accepted[0] == sent.shape.effort:
        return _refused("set reasoning_effort on this target to a value the model accepts")
    smallest = accepted[0]
    advice = (f"set reasoning_effort: {smallest} on this target"
              if smallest in CONFIGURABLE_EFFORTS else None)
    return _fixed(replace(sent.shape, effort=smallest), f"reasoning_effort {smallest}", advice)


def _unsupported_value(match: re.Match[str], sent: Sent) -> Rejection | None:
    name = match["param"]
    if name == "reasoning_effort" and "reasoning_effort" in sent.payload:
        return _effort(_listed(match["values"]), sent)
    if name in ("temperature", "stream"):
        return _without(name, None, sent)
    return None


def _unsupported_value_of_model(match: re.Match[str], sent: Sent) -> Rejection | None:
    # The parameter is named in the body's `param` (which gateways may mask: `***.effort`),
    # so the value identifies it.
    if match["value"] == sent.payload.get("reasoning_effort"):
        return _effort(_listed(match["values"]), sent)
    return None


def _below_minimum(match: re.Match[str], sent: Sent) -> Rejection | None:
    budget = _token_parameter(sent)
    if budget is None or match["param"] not in (*TOKEN_PARAMETERS, "max_output_tokens"):
        return None
    floor = int(match["min"])
    if floor <= budget[1] or floor > MAX_OUTPUT_TOKENS:
        return _refused(f"set max_output_tokens: {floor} on this target, which the model "
                        "demands at least")
    return _fixed(replace(sent.shape, least_tokens=floor), f"a token limit of {floor}",
                  f"set max_output_tokens: {floor} on this target")


def _could_not_finish(_match: re.Match[str], sent: Sent) -> Rejection | None:
    budget = _token_parameter(sent)
    if budget is None:
        return None
    larger = next((step for step in BUDGET_LADDER if step > budget[1]), None)
    if larger is None:
        return _refused(f"the model spends more than {budget[1]} tokens before it answers: set a "
                        "lower reasoning_effort or a larger max_output_tokens on this target")
    return _fixed(replace(sent.shape, least_tokens=larger), f"a token limit of {larger}",
                  f"set max_output_tokens: {larger} on this target")


def _thinking_budget(match: re.Match[str], sent: Sent) -> Rejection | None:
    if "reasoning_effort" in sent.payload:
        return _fixed(replace(sent.shape, effort=None), "no reasoning_effort (the endpoint turns "
                      "it into an extended-thinking budget)")
    budget = _token_parameter(sent)
    if budget is None:
        return None
    stated = match["budget"]
    if stated is not None and budget[1] <= int(stated) < MAX_OUTPUT_TOKENS:
        least = int(stated) + 1
        return _fixed(replace(sent.shape, least_tokens=least), f"a token limit of {least}",
                      f"set max_output_tokens: {least} on this target")
    return _refused("the endpoint turns on extended thinking for this model: turn it off there, "
                    "or set max_output_tokens above its thinking budget (at least 1025) on this "
                    "target")


def _thinking_minimum(_match: re.Match[str], sent: Sent) -> Rejection | None:
    if "reasoning_effort" in sent.payload:
        return _fixed(replace(sent.shape, effort=None), "no reasoning_effort (the endpoint turns "
                      "it into an extended-thinking budget)")
    if _token_parameter(sent) is None:
        return None
    return _refused("the endpoint adds an extended-thinking budget below Anthropic's minimum "
                    "(1024) for this model: correct its thinking setting there")


def _thinking_temperature(_match: re.Match[str], sent: Sent) -> Rejection | None:
    if "temperature" not in sent.payload:
        return None
    return _fixed(replace(sent.shape, temperature=False), "no temperature (the endpoint turns on "
                  "extended thinking)")


_MATCHERS: tuple[tuple[re.Pattern[str], Judge], ...] = (
    (re.compile(rf"Unsupported parameter: '(?P<param>{_PARAM})' is not supported with this "
                r"model\.(?:\s*Use '(?P<instead>\w{1,40})' instead)?"), _unsupported_parameter),
    (re.compile(r"Unrecognized request argument supplied: (?P<param>\w{1,60})"),
     _unrecognized_argument),
    (re.compile(rf"Unsupported value: '(?P<param>{_PARAM})' does not support [^\n]{{1,60}}? with "
                r"this model\.\s*(?:Only the default \([^)\n]{1,20}\) value is supported|"
                r"Supported values are: (?P<values>[^.\n]{1,200}))"), _unsupported_value),
    (re.compile(r"Unsupported value: '(?P<value>[\w.-]{1,40})' is not supported with the "
                r"'[^'\n]{1,100}' model\.\s*Supported values are: (?P<values>[^.\n]{1,200})"),
     _unsupported_value_of_model),
    (re.compile(r"Invalid '(?P<param>[\w.]{1,60})': integer below minimum value\. Expected a "
                r"value >= ?(?P<min>\d{1,7})"), _below_minimum),
    (re.compile(r"Could not finish the message because max_tokens or model output limit was "
                r"reached"), _could_not_finish),
    (re.compile(r"`?max_tokens`?(?::\s*\d{1,7})? must be greater than `?thinking\.budget_tokens`?"
                r"(?::\s*(?P<budget>\d{1,7}))?"), _thinking_budget),
    (re.compile(r"thinking\.(?:enabled\.)?budget_tokens: Input should be greater than or equal "
                r"to \d{1,7}"), _thinking_minimum),
    (re.compile(r"`?temperature`? may only be set to 1 when thinking is enabled"),
     _thinking_temperature),
)
