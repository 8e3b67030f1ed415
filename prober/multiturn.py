"""The `context` probe's conversation, the same for every protocol: two turns whose second
answer is right only if the first turn reached the model.

Turn 1 states a random six-digit number and asks for a one-word reply; turn 2 sends the whole
conversation (turn 1, the model's reply, then the question) and asks for the number back. A
gateway that drops the history, a cache that answers another conversation, a truncated prompt:
each gives a second answer without the number, while both requests answer 200. The judgement is
strict and cheap: the number's digits must appear in the answer, in one piece (separators
between them allowed); each turn asks for at most `TURN_TOKENS` tokens (or the least the model
takes), at temperature 0 and, for reasoning models, their smallest effort
(`prober.chat_shape`). Outcomes: `ok`, `context_lost` (answered, but without the number), or
the error type of the turn that failed; a second answer with no text at all is
`empty_response`. Both turns count in the probe: its duration, bytes and tokens are theirs
together.

A protocol module supplies `Turn`: it sends the messages of one turn within the attempt and
returns the answer's text, or the (error type, detail) of a failed turn.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable

from prober.attempt import Attempt
from prober.outcome import OK

TURN_TOKENS = 16
"""The token limit each turn asks for (the number takes two or three tokens, `OK` one)."""

DETAIL_ANSWER = 60
"""Characters of a wrong answer quoted in the detail."""

Messages = list[dict[str, str]]
Turn = Callable[[Messages], Awaitable[str | tuple[str, str]]]


def new_number() -> str:
    """A fresh six-digit number (no leading zero): a cache or another conversation cannot
    hold it by chance."""
    return str(random.randint(100_000, 999_999))


def first_turn(number: str) -> Messages:
    return [{"role": "user", "content": f"Remember this number: {number}. Reply with OK only."}]


SECOND_QUESTION = "What number did I ask you to remember? Reply with the number only."


async def converse(attempt: Attempt, number: str, turn: Turn) -> tuple[str, str]:
    """Hold the two-turn conversation with `turn` and judge it: (outcome, detail). The usage
    of both turns is added up on `attempt`."""
    first = first_turn(number)
    reply = await turn(first)
    if isinstance(reply, tuple):
        return reply[0], f"turn 1: {reply[1]}"
    spent = (attempt.input_tokens, attempt.output_tokens)
    attempt.input_tokens = attempt.output_tokens = None
    second = [*first, {"role": "assistant", "content": reply.strip() or "OK"},
              {"role": "user", "content": SECOND_QUESTION}]
    answer = await turn(second)
    attempt.input_tokens = _add(spent[0], attempt.input_tokens)
    attempt.output_tokens = _add(spent[1], attempt.output_tokens)
    if isinstance(answer, tuple):
        return answer[0], f"turn 2: {answer[1]}"
    return judge(number, answer)


def judge(number: str, answer: str) -> tuple[str, str]:
    """ok when `number`'s digits appear in `answer` in one piece (spaces, commas, dots or
    dashes between them allowed); else `context_lost`, or `empty_response` for no text."""
    text = " ".join(answer.split())
    if not text:
        return "empty_response", ("turn 2: the answer has no text (a reasoning model may have spent "
                                  "its token limit: raise max_output_tokens)")
    digits = re.sub(r"(?<=\d)[\s,.\-](?=\d)", "", text)
    if number in digits:
        return OK, ""
    quoted = text if len(text) <= DETAIL_ANSWER else f"{text[:DETAIL_ANSWER]}…"
    return "context_lost", f"turn 2 answered without the number turn 1 gave: {quoted!r}"


def _add(first: int | None, second: int | None) -> int | None:
    if first is None and second is None:
        return None
    return (first or 0) + (second or 0)
