"""Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html), the
framing of streamed chat completions: decode a byte stream into the data of each event.

Only what the probes need: `data` fields are joined per event, comments and other fields are
ignored, lines end in LF or CRLF. An event cut off by the end of the body is still yielded so
that a final `[DONE]` without its blank line counts. Memory is bounded by the chunk source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from prober.outcome import ProbeFailure


async def iter_sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Yield the data of each event in `chunks`; raise `ProbeFailure(invalid_response)` for a
    data line that is not UTF-8."""
    buffer = bytearray()
    data_lines: list[str] = []
    async for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = buffer.split(b"\n")
        buffer = bytearray(rest)
        for line in lines:
            event = _feed(line.rstrip(b"\r"), data_lines)
            if event is not None:
                yield event
    if buffer:
        _feed(bytes(buffer).rstrip(b"\r"), data_lines)
    if data_lines:
        yield "\n".join(data_lines)


def _feed(line: bytes, data_lines: list[str]) -> str | None:
    """Consume one line; return the event's data when the line completes an event."""
    if not line:
        if not data_lines:
            return None
        event = "\n".join(data_lines)
        data_lines.clear()
        return event
    field, _, value = line.partition(b":")
    if field == b"data":
        data_lines.append(_decode(value.removeprefix(b" ")))
    return None


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProbeFailure("invalid_response", "event data is not UTF-8") from None
