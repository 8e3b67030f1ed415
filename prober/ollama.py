"""Ollama's native API: probes and local model discovery.

API reference: https://github.com/ollama/ollama/blob/main/docs/api.md (`/api/tags`,
`/api/ps`, `/api/chat`, `/api/version`). The target's base URL is the server root, e.g.
`http://127.0.0.1:11434`.

Four probes with the shared call shape (`prober.context`): `models` checks the target's model
is installed (no tokens spent), `completion` asks `/api/chat` for one token, `stream` for a
few tokens as NDJSON, `context` holds a two-turn conversation (`prober.multiturn`). A model named without a tag is the same model as its `:latest` tag.
Errors are `{"error": "..."}`: with an error status before an answer, or as a line of a
stream that broke down after it started (`stream_interrupted`). The stream's final line
reports `eval_count` tokens generated in `eval_duration` nanoseconds, the server's own
throughput, which is recorded instead of the rate measured from chunk arrivals.
"""

from __future__ import annotations

import contextlib

import httpx

from prober import multiturn
from prober.attempt import Attempt, run_attempt
from prober.context import ProbeContext, ProbeFn
from prober.exchange import PROVIDER_MESSAGE_LIMIT, fetch_json, is_count, read_stream, send
from prober.local_fetch import (
    auth_headers,
    discovery_errors,
    get_json,
    get_json_if_present,
    model_entries,
)
from prober.local_models import DiscoveryError, LocalModel
from prober.ndjson import iter_ndjson
from prober.outcome import OK, ProbeFailure, ProbeResult


async def probe_models(ctx: ProbeContext) -> ProbeResult:
    """GET `/api/tags`; ok when it parses and lists the target's model (any model when the
    target names none)."""

    async def work(attempt: Attempt) -> tuple[str, str]:
        url = f"{ctx.base_url}/api/tags"
        request = send(ctx.client, attempt, "GET", url, timeout=ctx.timeout,
                       headers=auth_headers(ctx.api_key))
        document = await fetch_json(ctx, attempt, request)
        return document if isinstance(document, tuple) else _judge_tags(document, ctx.target.model)

    return await run_attempt(ctx.target.name, "models", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


async def probe_completion(ctx: ProbeContext) -> ProbeResult:
    """POST a one-token, non-streamed `/api/chat`; ok when the answer is done and has a
    message. `prompt_eval_count` and `eval_count` are recorded as input and output tokens."""
    payload = _payload(ctx, num_predict=1, stream=False)

    async def work(attempt: Attempt) -> tuple[str, str]:
        document = await fetch_json(ctx, attempt, _post_chat(ctx, attempt, payload))
        return document if isinstance(document, tuple) else _judge_completion(document, attempt)

    return await run_attempt(ctx.target.name, "completion", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


async def probe_stream(ctx: ProbeContext) -> ProbeResult:
    """POST a streamed `/api/chat` of at most `ctx.stream_max_tokens` tokens and read it.

    TTFT is the time to the first line with non-empty `message.content`. The stream ends
    cleanly at a line with `done: true`; the end of the body or a broken connection before
    that, or an `error` line, is `stream_interrupted`; a body without any line is
    `invalid_response`, a clean end without content `empty_response`.
    """
    payload = _payload(ctx, num_predict=ctx.stream_max_tokens, stream=True)

    async def work(attempt: Attempt) -> tuple[str, str]:
        state = _StreamState()
        failure = await read_stream(ctx, attempt, _post_chat(ctx, attempt, payload),
                                    lambda chunks: iter_ndjson(chunks, ctx.max_body_bytes),
                                    lambda line: _apply_line(line, attempt, state))
        return failure or _judge_stream(attempt, state)

    return await run_attempt(ctx.target.name, "stream", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


async def probe_context(ctx: ProbeContext) -> ProbeResult:
    """The two-turn `context` probe (`prober.multiturn`): each turn a non-streamed `/api/chat`
    of at most `multiturn.TURN_TOKENS` tokens."""
    number = multiturn.new_number()

    async def turn(attempt: Attempt, messages: multiturn.Messages) -> str | tuple[str, str]:
        payload = {**_payload(ctx, num_predict=multiturn.TURN_TOKENS, stream=False),
                   "messages": messages}
        document = await fetch_json(ctx, attempt, _post_chat(ctx, attempt, payload))
        if isinstance(document, tuple):
            return document
        outcome, detail = _judge_completion(document, attempt)
        if outcome != OK:
            return outcome, detail
        content = document["message"].get("content")  # a dict: _judge_completion checked
        return content if isinstance(content, str) else ""

    async def work(attempt: Attempt) -> tuple[str, str]:
        return await multiturn.converse(attempt, number, lambda messages: turn(attempt, messages))

    return await run_attempt(ctx.target.name, "context", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


PROBES: dict[str, ProbeFn] = {
    "models": probe_models,
    "completion": probe_completion,
    "stream": probe_stream,
    "context": probe_context,
}


async def discover(ctx: ProbeContext) -> list[LocalModel]:
    """One `LocalModel` per model installed (`/api/tags`), in the server's order; `loaded`
    when `/api/ps` lists it, with its `size_vram` then (`loaded` None on a server too old to
    have `/api/ps`). Raises `DiscoveryError`."""
    tags = await get_json(ctx, "/api/tags")
    running = await get_json_if_present(ctx, "/api/ps")
    with discovery_errors(ctx.api_key):
        installed = [_name(entry) for entry in model_entries(tags, "models")]
        if running is None:
            return [LocalModel(name) for name in installed]
        vram = {canonical(_name(m)): m.get("size_vram") for m in model_entries(running, "models")}
        return [_local_model(name, vram) for name in installed]


async def server_version(ctx: ProbeContext) -> str:
    """The server's version from `/api/version` (e.g. "0.5.7"); raises `DiscoveryError`."""
    document = await get_json(ctx, "/api/version")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise DiscoveryError("invalid_response", "/api/version body has no version string")
    return version


def canonical(name: str) -> str:
    """`name` with its tag made explicit: `llama3.2` is `llama3.2:latest`. A colon before the
    last slash belongs to a registry's port, not to a tag."""
    head, colon, tag = name.rpartition(":")
    return name if colon and head and "/" not in tag else f"{name}:latest"


def _judge_tags(document: dict[str, object], model: str | None) -> tuple[str, str]:
    # Response shape: https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models
    names = {canonical(_name(m)) for m in model_entries(document, "models")}
    if not names:
        return "empty_response", "no models are installed"
    if model is not None and canonical(model) not in names:
        return "invalid_response", f"model {model!r} is not among the {len(names)} models installed"
    return OK, ""


def _local_model(name: str, vram: dict[str, object]) -> LocalModel:
    loaded = canonical(name) in vram
    size = vram.get(canonical(name))
    return LocalModel(name, loaded, size if loaded and is_count(size) else None)


def _name(entry: dict[str, object]) -> str:
    """An entry's `name` (or `model`, which newer servers send alongside)."""
    name = entry.get("name") or entry.get("model")
    if not isinstance(name, str):
        raise ProbeFailure("invalid_response", "a model entry has no name")
    return name


def _payload(ctx: ProbeContext, *, num_predict: int, stream: bool) -> dict[str, object]:
    """`num_predict` is the larger of the probe's own and the target's `max_output_tokens`."""
    least = ctx.target.max_output_tokens or 1
    return {
        "model": ctx.target.model,
        "messages": [{"role": "user", "content": "ping"}],
        "stream": stream,
        "options": {"num_predict": max(num_predict, least), "temperature": 0},
    }


def _post_chat(
    ctx: ProbeContext, attempt: Attempt, payload: dict[str, object]
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    return send(ctx.client, attempt, "POST", f"{ctx.base_url}/api/chat", timeout=ctx.timeout,
                headers=auth_headers(ctx.api_key), payload=payload)


def _judge_completion(document: dict[str, object], attempt: Attempt) -> tuple[str, str]:
    # Response shape: https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-no-streaming
    _record_counts(document, attempt)
    error = _error_message(document)
    if error is not None:
        return "invalid_response", f"error in a successful answer: {error}"
    if document.get("done") is not True:
        return "invalid_response", "the answer is not done"
    if not isinstance(document.get("message"), dict):
        return "empty_response", "the answer has no message"
    return OK, ""


class _StreamState:
    """What a stream showed besides the attempt's facts."""

    def __init__(self) -> None:
        self.lines = 0
        self.error: str | None = None


def _apply_line(line: dict[str, object], attempt: Attempt, state: _StreamState) -> bool:
    """Apply one line to the attempt; True when the stream is over (done or error)."""
    # Line shapes: https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-streaming
    state.lines += 1
    state.error = _error_message(line)
    if state.error is not None:
        return True
    message = line.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str) and message["content"]:
        attempt.mark_content()
    if line.get("done") is not True:
        return False
    attempt.stream_clean = True
    _record_counts(line, attempt)
    count, duration = line.get("eval_count"), line.get("eval_duration")
    if is_count(count) and is_count(duration) and count > 0 and duration > 0:
        attempt.reported_tokens_per_s = count / (duration / 1e9)
    return True


def _judge_stream(attempt: Attempt, state: _StreamState) -> tuple[str, str]:
    if state.error is not None:
        return "stream_interrupted", (f"error after {state.lines - 1} lines "
                                      f"({attempt.content_chunks} content chunks): {state.error}")
    if not attempt.stream_clean:
        if state.lines == 0:
            return "invalid_response", "no NDJSON lines in the body"
        return (
            "stream_interrupted",
            (f"stream ended without done: true ({state.lines} lines, "
             f"{attempt.content_chunks} content chunks)"),
        )
    if attempt.content_chunks == 0:
        return "empty_response", "stream ended without content"
    return OK, ""


def _error_message(document: dict[str, object]) -> str | None:
    """The `error` of an Ollama error object, whitespace-collapsed and truncated."""
    error = document.get("error")
    if error is None:
        return None
    return " ".join(str(error).split())[:PROVIDER_MESSAGE_LIMIT]


def _record_counts(document: dict[str, object], attempt: Attempt) -> None:
    prompt, output = document.get("prompt_eval_count"), document.get("eval_count")
    if is_count(prompt):
        attempt.input_tokens = prompt
    if is_count(output):
        attempt.output_tokens = output
