"""What a simulated model answers in a conversation: the number an earlier turn stated.

A request with an earlier assistant turn is a conversation. Its answer is the first number (4
digits or more) that an earlier user turn states, as a model that read the whole conversation
would give when asked for it back (the `context` probe's second turn); a model that loses
context (`ModelBehavior.context_loss_rate`) answers as if only the last message had arrived,
as a router that drops history or truncates the prompt would make it: it remembers no number.
"""

from __future__ import annotations

import re

from simulator.chat_request import ChatRequest

NUMBER = re.compile(r"\d{4,}")
FORGOTTEN = "I do not remember any number."


def is_conversation(chat: ChatRequest) -> bool:
    """Whether `chat` carries an earlier assistant turn."""
    return any(message.role == "assistant" for message in chat.messages[:-1])


def recalled(chat: ChatRequest, *, lost: bool) -> list[str]:
    """The answer's words for conversation `chat`: the first number an earlier user turn
    states, or FORGOTTEN when there is none or the context was `lost`."""
    earlier = [] if lost else [m for m in chat.messages[:-1] if m.role == "user"]
    for message in earlier:
        found = NUMBER.search(message.text())
        if found:
            return [found.group()]
    return FORGOTTEN.split()
