"""Newline-delimited JSON (https://github.com/ndjson/ndjson-spec), the framing of Ollama's
streamed answers: decode a byte stream into one JSON object per line.

Lines end in LF or CRLF; blank lines are skipped; a last line cut off by the end of the body
is still yielded, so a final `done` object without its newline counts. No line may exceed the
given limit, so memory stays bounded even for a body that never sends a newline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from prober.exchange import json_object
from prober.outcome import ProbeFailure


async def iter_ndjson(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[dict[str, object]]:
    """Yield each line of `chunks` as a JSON object. Raise `ProbeFailure(invalid_response)` for
    a line that is not a JSON object or that grows beyond `limit` bytes."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            _check_length(buffer, limit)
            continue
        *lines, rest = buffer.split(b"\n")
        buffer = bytearray(rest)
        for line in lines:
            _check_length(line, limit)
            if line.strip():
                yield json_object(bytes(line), "NDJSON line")
        _check_length(buffer, limit)
    if buffer.strip():
        yield json_object(bytes(buffer), "NDJSON line")


def _check_length(line: bytes | bytearray, limit: int) -> None:
    if len(line) > limit:
        raise ProbeFailure("invalid_response", f"NDJSON line longer than {limit} bytes")
