"""JSON builders for the OpenAI-compatible wire format the simulator speaks.

Shapes follow the OpenAI API reference: Chat Completions (the chat completion object and
the chat completion chunk object), Models (list) and the standard error object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

FINGERPRINT = "fp_llmhealth_sim"


@dataclass(frozen=True)
class Reply:
    """What one request answers: identity, generated words and token accounting."""

    id: str
    model: str
    created: int
    words: list[str]
    prompt_tokens: int
    finish_reason: str

    @property
    def content(self) -> str:
        """The whole message text: the words joined by single spaces."""
        return " ".join(self.words)

    def deltas(self) -> list[str]:
        """Per-token stream fragments; concatenated they equal `content`."""
        return [word if i == 0 else f" {word}" for i, word in enumerate(self.words)]


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    """OpenAI error object: `{"error": {message, type, param, code}}`."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def model_list(names: list[str], created: int) -> dict:
    """OpenAI API reference: Models — the `list` object of `model` entries."""
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "llmhealth-simulator"}
        for name in names
    ]
    return {"object": "list", "data": data}


def usage(reply: Reply) -> dict:
    """Usage block: prompt, completion and total token counts."""
    completion = len(reply.words)
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
    }


# OpenAI API reference: Chat Completions — the chat completion object.
def completion(reply: Reply) -> dict:
    """Full non-stream `chat.completion` object with a single assistant choice."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": reply.content, "refusal": None},
        "logprobs": None,
        "finish_reason": reply.finish_reason,
    }
    return {**_header(reply, "chat.completion"), "choices": [choice], "usage": usage(reply)}


def empty_completion(reply: Reply) -> dict:
    """A `chat.completion` object with no choices at all (the `empty` fault)."""
    return {**_header(reply, "chat.completion"), "choices": []}


# OpenAI API reference: Chat Completions — the chat completion chunk object.
def chunk(reply: Reply, delta: dict[str, Any], finish_reason: str | None, with_usage: bool) -> dict:
    """One `chat.completion.chunk` with a single choice; when the client asked for usage,
    every regular chunk carries `usage: null` as the API does."""
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    body = {**_header(reply, "chat.completion.chunk"), "choices": [choice]}
    if with_usage:
        body["usage"] = None
    return body


def usage_chunk(reply: Reply) -> dict:
    """The trailing chunk sent with `stream_options.include_usage`: empty choices + usage."""
    return {**_header(reply, "chat.completion.chunk"), "choices": [], "usage": usage(reply)}


def sse(payload: dict | str) -> bytes:
    """Encode one server-sent event: `data: <json or literal>` plus a blank line."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _header(reply: Reply, object_: str) -> dict:
    return {
        "id": reply.id,
        "object": object_,
        "created": reply.created,
        "model": reply.model,
        "system_fingerprint": FINGERPRINT,
    }
