"""NDJSON framing (https://github.com/ndjson/ndjson-spec): lines split across and within
chunks, blank lines, a last line without newline, malformed and oversized lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from prober.ndjson import iter_ndjson
from prober.outcome import ProbeFailure

LIMIT = 64


async def collect(chunks: list[bytes], limit: int = LIMIT) -> list[dict[str, object]]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [line async for line in iter_ndjson(source(), limit)]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([b'{"a":1}\n{"a":2}\n'], [{"a": 1}, {"a": 2}], id="two-lines-one-chunk"),
        pytest.param([b'{"a":', b"1}\n", b'{"a":2}\n'], [{"a": 1}, {"a": 2}], id="split-line"),
        pytest.param([b'{"a":1}\r\n\r\n', b"\n  \n", b'{"a":2}\r\n'], [{"a": 1}, {"a": 2}],
                     id="crlf-and-blank-lines"),
        pytest.param([b'{"a":1}\n{"done":', b"true}"], [{"a": 1}, {"done": True}],
                     id="last-line-without-newline"),
        pytest.param([b"", b"\n"], [], id="nothing"),
        pytest.param([b'{"s":"caf\xc3\xa9"}\n'], [{"s": "café"}], id="utf-8"),
    ],
)
def test_lines(chunks: list[bytes], expected: list[dict[str, object]]) -> None:
    assert asyncio.run(collect(chunks)) == expected


@pytest.mark.parametrize(
    ("chunks", "detail"),
    [
        pytest.param([b'{"a":1}\n{not json\n'], "NDJSON line is not valid JSON", id="invalid"),
        pytest.param([b"[1, 2]\n"], "NDJSON line is not a JSON object", id="array"),
        pytest.param([b'"text"'], "NDJSON line is not a JSON object", id="last-line-string"),
        pytest.param([b'{"s":"\xff"}\n'], "NDJSON line is not valid JSON", id="not-utf-8"),
        pytest.param([b"x" * 40, b"x" * 40], f"NDJSON line longer than {LIMIT} bytes",
                     id="long-line-across-chunks"),
        pytest.param([b"{}\n" + b"x" * 70 + b"\n"], f"NDJSON line longer than {LIMIT} bytes",
                     id="long-line-in-one-chunk"),
        pytest.param([b"{}\n" + b"x" * 70], f"NDJSON line longer than {LIMIT} bytes",
                     id="long-unterminated-rest"),
    ],
)
def test_malformed_lines(chunks: list[bytes], detail: str) -> None:
    with pytest.raises(ProbeFailure) as caught:
        asyncio.run(collect(chunks))
    assert (caught.value.error_type, caught.value.detail) == ("invalid_response", detail)


def test_lines_before_a_bad_one_are_yielded() -> None:
    async def scenario() -> tuple[list[dict[str, object]], ProbeFailure | None]:
        async def source() -> AsyncIterator[bytes]:
            yield b'{"n":1}\n{"n":2}\n'
            yield b"oops\n"

        seen: list[dict[str, object]] = []
        try:
            async for line in iter_ndjson(source(), LIMIT):
                seen.append(line)
        except ProbeFailure as exc:
            return seen, exc
        return seen, None

    seen, failure = asyncio.run(scenario())
    assert seen == [{"n": 1}, {"n": 2}]
    assert failure is not None and failure.error_type == "invalid_response"
