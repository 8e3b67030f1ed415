"""The floor of the API benchmark (bench/api.py): a bare ASGI app that answers every request
with the same bytes, served by uvicorn as the aggregator serves its API (httptools, uvloop). No
framework, no state, no work: what the machine gives any Python HTTP answer of that size under
the same load. `BODY_BYTES` sets the answer's size (default 2,000).

    BODY_BYTES=2000 python -m uvicorn bench.constant_app:app --port 8099
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

BODY = b'{"x":"' + b"x" * max(0, int(os.environ.get("BODY_BYTES", "2000")) - 8) + b'"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
              send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
