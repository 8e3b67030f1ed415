"""Split ClickHouse SQL into tokens, for the statement guard (guard.py).

The guard reads the engine's own formatting of a statement (`formatQuerySingleLine`), so the
text it sees is one statement without comments in a regular layout. Even so the tokenizer
handles every lexical form ClickHouse accepts: a string or quoted identifier can never be
mistaken for code, and a quoted identifier reads the same as a bare one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["word", "string", "number", "param", "punct"]


@dataclass(frozen=True)
class Token:
    """`word`: identifier or keyword (quoted identifiers unquoted, `quoted` set); `string`: a
    literal's text; `param`: `{name:Type}` with `text` the name and `type` the type;
    `punct`: an operator or bracket."""

    kind: Kind
    text: str
    quoted: bool = False
    type: str = ""


class TokenError(ValueError):
    """The text ends inside a string, quoted identifier or comment."""


_PARAM = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"\d[A-Za-z0-9_.]*(?:[eEpP][+-]?\d+)?")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")
_TWO_CHAR = frozenset({"==", "!=", "<>", "<=", ">=", "->", "||", "::"})
_QUOTES = {"'": "string", "`": "word", '"': "word"}


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The unescaped content of the quoted item at `start` and the index after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == quote and text[i + 1:i + 2] == quote:
            out.append(quote)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise TokenError(f"unterminated {quote}…{quote} at offset {start}")


def _skip_comment(text: str, i: int) -> int | None:
    """Index after a comment starting at `i`, or None when none starts there."""
    if text.startswith("--", i) or text.startswith("#!", i) or text.startswith("# ", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        depth, j = 0, i
        while j < len(text):
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    return j
            else:
                j += 1
        raise TokenError(f"unterminated comment at offset {i}")
    return None


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`; raises TokenError where it cannot be split."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        after_comment = _skip_comment(text, i)
        if after_comment is not None:
            i = after_comment
            continue
        if char in _QUOTES:
            content, i = _quoted(text, i)
            kind = _QUOTES[char]
            tokens.append(Token(kind, content, quoted=kind == "word"))  # type: ignore[arg-type]
            continue
        heredoc = _HEREDOC.match(text, i)
        if heredoc:
            end = text.find(heredoc.group(0), heredoc.end())
            if end < 0:
                raise TokenError(f"unterminated heredoc at offset {i}")
            tokens.append(Token("string", text[heredoc.end():end]))
            i = end + len(heredoc.group(0))
            continue
        for kind, pattern in (("param", _PARAM), ("word", _WORD), ("number", _NUMBER)):
            match = pattern.match(text, i)
            if match:
                if kind == "param":
                    tokens.append(Token("param", match.group(1), type=match.group(2)))
                else:
                    tokens.append(Token(kind, match.group(0)))  # type: ignore[arg-type]
                i = match.end()
                break
        else:
            pair = text[i:i + 2]
            size = 2 if pair in _TWO_CHAR else 1
            tokens.append(Token("punct", text[i:i + size]))
            i += size
    return tokens
