"""The subset of an OpenAI Chat Completions request the simulator reads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.errors import ApiError

DEFAULT_MAX_TOKENS = 16


class ChatMessage(BaseModel):
    """One input message; `role` and `content` are read (prompt tokens, a conversation's
    earlier turns)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The text content: the string, or the text parts of a list joined by spaces."""
        if isinstance(self.content, str):
            return self.content
        return " ".join(str(part.get("text", "")) for part in self.content or [])

    def word_count(self) -> int:
        """Whitespace-separated words in the text content (text parts of a list count too)."""
        return len(self.text().split())


class StreamOptions(BaseModel):
    """`stream_options`; only `include_usage` matters here."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """A chat completion request. Unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None

    @property
    def token_limit(self) -> int | None:
        """`max_completion_tokens` if given, else `max_tokens`, else None (no limit)."""
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens
        return self.max_tokens

    @property
    def include_usage(self) -> bool:
        """Whether a stream should end with a usage chunk."""
        return self.stream_options is not None and self.stream_options.include_usage

    def prompt_tokens(self) -> int:
        """Rough prompt size: words across all messages, at least 1."""
        return max(1, sum(message.word_count() for message in self.messages))


def parse_chat_request(body: bytes) -> ChatRequest:
    """Validate a raw request body; raises a 400 `ApiError` describing the first problem."""
    try:
        return ChatRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError.invalid_request(f"invalid request body: {where}: {first['msg']}") from exc
