"""Bounded reading of HTTP response bodies.

No response, however hostile, makes a probe hold more than `limit` bytes of its body (plus one
transport read of at most 64 KiB): a larger body ends the read with `invalid_response`. Bodies
are read raw; probes ask for `Accept-Encoding: identity`, and a compressed body is rejected
rather than inflated, since inflating is where a small body turns into a large one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from prober.attempt import Attempt
from prober.outcome import ProbeFailure

REQUEST_HEADERS = {"Accept-Encoding": "identity"}


def too_large(limit: int) -> ProbeFailure:
    """The failure of a body that exceeds `limit` bytes."""
    return ProbeFailure("invalid_response", f"body larger than {limit} bytes")


async def iter_bounded(
    response: httpx.Response, limit: int, attempt: Attempt | None = None
) -> AsyncIterator[bytes]:
    """Yield the body's chunks as they arrive; raise `ProbeFailure(invalid_response)` as soon
    as the body announces or delivers more than `limit` bytes, or is content-encoded. Bytes
    read are added to `attempt.bytes_received`, and each read marks the attempt's first byte
    and silences (its bounds)."""
    _check_encoding(response)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if attempt is not None:
            attempt.bytes_received += len(chunk)
            attempt.mark_body_bytes()
        if received > limit:
            raise too_large(limit)
        yield chunk


async def read_body(response: httpx.Response, limit: int, attempt: Attempt | None = None) -> bytes:
    """The whole body, at most `limit` bytes (see `iter_bounded`)."""
    return b"".join([chunk async for chunk in iter_bounded(response, limit, attempt)])


def _check_encoding(response: httpx.Response) -> None:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProbeFailure(
            "invalid_response", f"body is {encoding}-encoded although identity was requested"
        )
