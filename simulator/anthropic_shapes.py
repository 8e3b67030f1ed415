"""JSON builders for the Anthropic Messages wire format the simulator speaks.

Shapes follow the Anthropic API reference: the message object
(https://docs.anthropic.com/en/api/messages), stream events
(https://docs.anthropic.com/en/docs/build-with-claude/streaming), the model list
(https://docs.anthropic.com/en/api/models-list), errors
(https://docs.anthropic.com/en/api/errors) and rate-limit headers
(https://docs.anthropic.com/en/api/rate-limits#response-headers).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from simulator.openai_shapes import Reply

# What a `Reply.finish_reason` is called in Anthropic's `stop_reason`.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}

REQUESTS_PER_MINUTE = 50


def message_id(reply: Reply) -> str:
    """`msg_…`, from the reply's random `chatcmpl-…` id."""
    return "msg_" + reply.id.removeprefix("chatcmpl-")


def error_body(type_: str, message: str) -> dict:
    """`{"type": "error", "error": {"type", "message"}}`."""
    return {"type": "error", "error": {"type": type_, "message": message}}


def model_list(names: list[str], created: int) -> dict:
    """One page holding every model, newest first as the API orders them (all share one
    creation time here, so in insertion order)."""
    created_at = rfc3339(datetime.fromtimestamp(created, UTC))
    data = [
        {"type": "model", "id": name, "display_name": name, "created_at": created_at}
        for name in names
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }


def message(reply: Reply, *, empty: bool = False) -> dict:
    """The non-stream message object: one text block, or (`empty`) no content blocks and no
    stop reason."""
    content = [] if empty else [{"type": "text", "text": reply.content}]
    output_tokens = 0 if empty else len(reply.words)
    return {
        **_message_header(reply),
        "content": content,
        "stop_reason": None if empty else STOP_REASONS[reply.finish_reason],
        "stop_sequence": None,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": output_tokens},
    }


def message_start(reply: Reply) -> dict:
    """First stream event: the message with empty content and the input usage."""
    return {
        "type": "message_start",
        "message": {
            **_message_header(reply),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": 1},
        },
    }


def content_block_start() -> dict:
    return {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}


def text_delta(text: str) -> dict:
    return {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}


def content_block_stop() -> dict:
    return {"type": "content_block_stop", "index": 0}


def message_delta(stop_reason: str, output_tokens: int) -> dict:
    """The last event before `message_stop`: stop reason and cumulative output tokens."""
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }


def event(data: dict) -> bytes:
    """One server-sent event named after the data's `type`."""
    return raw_event(data["type"], json.dumps(data, separators=(",", ":")))


def raw_event(name: str, data: str) -> bytes:
    """One server-sent event `name` whose data is `data` verbatim."""
    return f"event: {name}\ndata: {data}\n\n".encode()


def rate_limit_headers(remaining: int, reset_s: float) -> dict[str, str]:
    """`anthropic-ratelimit-requests-*` of a 50-requests-per-minute limit resetting in
    `reset_s` seconds."""
    reset = datetime.now(UTC) + timedelta(seconds=reset_s)
    return {
        "anthropic-ratelimit-requests-limit": str(REQUESTS_PER_MINUTE),
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": rfc3339(reset),
    }


def rfc3339(when: datetime) -> str:
    """`2025-02-19T00:00:00Z`: whole seconds in UTC, as the API writes instants."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_header(reply: Reply) -> dict:
    return {"id": message_id(reply), "type": "message", "role": "assistant", "model": reply.model}
