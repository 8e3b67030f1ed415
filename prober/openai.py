"""The OpenAI-compatible chat completions protocol
(https://platform.openai.com/docs/api-reference/chat/create).

Two probes with the shared call shape of `prober.attempt`: a minimal non-streamed completion
and a short streamed one. Both send `ping` with temperature 0, never raise, and return a
`ProbeResult`; the API key is sent as a bearer token only when one is configured and is never
echoed into a result.
"""

from __future__ import annotations

import contextlib
import json

import httpx

import llmhealth
from llmhealth.config.model import Target
from prober.attempt import Attempt, redact, run_attempt
from prober.body import REQUEST_HEADERS, iter_bounded, read_body
from prober.outcome import OK, ProbeFailure, ProbeResult, classify_status
from prober.sse import iter_sse_data

PROVIDER_MESSAGE_LIMIT = 200
ERROR_BODY_LIMIT = 16 * 1024
_USER_AGENT = f"llmhealth-prober/{llmhealth.__version__}"


async def probe_completion(
    client: httpx.AsyncClient,
    target: Target,
    *,
    api_key: str | None,
    timeout: float,
    max_body_bytes: int,
) -> ProbeResult:
    """POST a one-token completion; ok when the answer has a choice with a message or a
    finish reason. Usage tokens are recorded when reported."""
    payload = _payload(target, max_tokens=1)

    async def work(attempt: Attempt) -> tuple[str, str]:
        async with _post(client, target, payload, api_key=api_key, timeout=timeout) as response:
            failure = await _check_status(response, attempt, api_key)
            if failure:
                return failure
            body = await read_body(response, max_body_bytes)
        return _judge_completion(_json_object(body, "body"), attempt)

    return await run_attempt(target.name, "completion", work, timeout=timeout, secret=api_key)


async def probe_stream(
    client: httpx.AsyncClient,
    target: Target,
    *,
    api_key: str | None,
    timeout: float,
    max_body_bytes: int,
    max_tokens: int,
) -> ProbeResult:
    """POST a streamed completion of at most `max_tokens` tokens and read its events.

    TTFT is the time from the request start to the first chunk with non-empty
    `delta.content`. The stream ends cleanly at `[DONE]` or after a `finish_reason`; ending
    before that is `stream_interrupted`, a clean end without content `empty_response`.
    """
    payload = {
        **_payload(target, max_tokens=max_tokens),
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    async def work(attempt: Attempt) -> tuple[str, str]:
        async with _post(client, target, payload, api_key=api_key, timeout=timeout) as response:
            failure = await _check_status(response, attempt, api_key)
            if failure:
                return failure
            attempt.streaming_started = True
            attempt.stream_clean = False
            events = await _consume_stream(response, attempt, max_body_bytes)
        return _judge_stream(attempt, events)

    return await run_attempt(target.name, "stream", work, timeout=timeout, secret=api_key)


def _payload(target: Target, *, max_tokens: int) -> dict[str, object]:
    return {
        "model": target.model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def _post(
    client: httpx.AsyncClient,
    target: Target,
    payload: dict[str, object],
    *,
    api_key: str | None,
    timeout: float,
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    headers = {**REQUEST_HEADERS, "User-Agent": _USER_AGENT}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    url = target.base_url.rstrip("/") + "/chat/completions"
    return client.stream("POST", url, json=payload, headers=headers, timeout=timeout)


async def _check_status(
    response: httpx.Response, attempt: Attempt, api_key: str | None
) -> tuple[str, str] | None:
    """The failure an HTTP status means, with the provider's error message when the body is
    small JSON; None for a 2xx."""
    code = response.status_code
    attempt.http_status = code
    error_type = classify_status(code)
    if error_type is None:
        if 200 <= code < 300:
            return None
        return "invalid_response", f"unexpected HTTP {code}"
    attempt.status_failure = (error_type, f"HTTP {code}")
    message = await _provider_message(response, api_key)
    return error_type, f"HTTP {code}: {message}" if message else f"HTTP {code}"


async def _provider_message(response: httpx.Response, api_key: str | None) -> str:
    """The `error.message` (or `error`, `message`, `detail`) of a small JSON error body,
    redacted and truncated; "" when there is none."""
    try:
        document = _json_object(await read_body(response, ERROR_BODY_LIMIT), "error body")
    except (ProbeFailure, httpx.TransportError):
        return ""
    error = document.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    message = next(
        (m for m in (error, document.get("message"), document.get("detail")) if isinstance(m, str)),
        "",
    )
    return redact(" ".join(message.split()), api_key)[:PROVIDER_MESSAGE_LIMIT]


def _judge_completion(document: dict[str, object], attempt: Attempt) -> tuple[str, str]:
    # Response shape: https://platform.openai.com/docs/api-reference/chat/object
    _record_usage(document, attempt)
    choices = _choices(document)
    if not choices:
        return "empty_response", "no choices in the response"
    if any(isinstance(c.get("message"), dict) or c.get("finish_reason") for c in choices):
        return OK, ""
    return "empty_response", "no choice has a message or a finish_reason"


async def _consume_stream(response: httpx.Response, attempt: Attempt, limit: int) -> int:
    """Read events until `[DONE]` or the end of the body; return how many arrived. A broken
    connection after the stream already ended cleanly is not an error."""
    events = 0
    async with (
        contextlib.aclosing(iter_bounded(response, limit)) as chunks,
        contextlib.aclosing(iter_sse_data(chunks)) as stream,
    ):
        try:
            async for data in stream:
                events += 1
                if _apply_event(data, attempt):
                    break
        except (httpx.RemoteProtocolError, httpx.ReadError):
            if not attempt.stream_clean:
                raise
    return events


def _apply_event(data: str, attempt: Attempt) -> bool:
    """Apply one event to the attempt; True when it is the final `[DONE]`."""
    # Chunk shape: https://platform.openai.com/docs/api-reference/chat-streaming/streaming
    if data.strip() == "[DONE]":
        attempt.stream_clean = True
        return True
    chunk = _json_object(data, "event")
    _record_usage(chunk, attempt)
    choices = _choices(chunk)
    if any(_has_content(c) for c in choices):
        attempt.mark_content()
    if any(c.get("finish_reason") for c in choices):
        attempt.stream_clean = True
    return False


def _judge_stream(attempt: Attempt, events: int) -> tuple[str, str]:
    if not attempt.stream_clean:
        if events == 0:
            return "invalid_response", "no server-sent events in the body"
        return (
            "stream_interrupted",
            f"stream ended without [DONE] or finish_reason ({events} events)",
        )
    if attempt.content_chunks == 0:
        return "empty_response", "stream ended without content"
    return OK, ""


def _has_content(choice: dict[str, object]) -> bool:
    delta = choice.get("delta")
    return (
        isinstance(delta, dict) and isinstance(delta.get("content"), str) and bool(delta["content"])
    )


def _choices(document: dict[str, object]) -> list[dict[str, object]]:
    """The `choices` list (empty when absent); `invalid_response` when it is malformed."""
    choices = document.get("choices")
    if choices is None:
        return []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise ProbeFailure("invalid_response", "choices is not a list of objects")
    return choices


def _record_usage(document: dict[str, object], attempt: Attempt) -> None:
    usage = document.get("usage")
    if not isinstance(usage, dict):
        return
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if _is_count(prompt):
        attempt.input_tokens = prompt
    if _is_count(completion):
        attempt.output_tokens = completion


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _json_object(raw: bytes | str, what: str) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProbeFailure("invalid_response", f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ProbeFailure("invalid_response", f"{what} is not a JSON object")
    return value
