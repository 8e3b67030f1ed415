"""HTTP helpers shared by the local-server protocols (Ollama, LM Studio): the optional bearer
token, and the JSON GETs of model discovery, whose every failure becomes a `DiscoveryError`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from prober.attempt import Attempt, redact
from prober.body import read_body
from prober.context import ProbeContext
from prober.exchange import check_status, json_object, send
from prober.local_models import DiscoveryError
from prober.outcome import ProbeFailure, classify_exception


def auth_headers(api_key: str | None) -> dict[str, str]:
    """A bearer token when the target has a key (a local server behind an authenticating
    proxy, or LM Studio with API tokens enabled); no header otherwise."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


@contextmanager
def discovery_errors(secret: str | None) -> Iterator[None]:
    """Turn any exception in the block into a `DiscoveryError` of the outcome taxonomy (through
    `classify_exception`), with `secret` removed from its detail."""
    try:
        yield
    except DiscoveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure must become a DiscoveryError
        error_type, detail = classify_exception(exc, streaming_started=False)
        raise DiscoveryError(error_type, redact(detail, secret)) from None


async def get_json(ctx: ProbeContext, path: str) -> dict[str, object]:
    """GET `path` below the server root and return its body as a JSON object, read within
    `ctx.timeout` and `ctx.max_body_bytes`. Raises `DiscoveryError` when that fails: transport
    failure, timeout, error status, oversized or malformed body."""
    document = await _get(ctx, path, missing_ok=False)
    assert document is not None  # only a missing_ok GET answers None
    return document


async def get_json_if_present(ctx: ProbeContext, path: str) -> dict[str, object] | None:
    """`get_json`, except that a 404 (a server that predates the endpoint) returns None."""
    return await _get(ctx, path, missing_ok=True)


def model_entries(document: dict[str, object], key: str) -> list[dict[str, object]]:
    """`document[key]` when it is a list of objects; `ProbeFailure(invalid_response)` else."""
    entries = document.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ProbeFailure("invalid_response", f"{key} is not a list of model objects")
    return entries


async def _get(ctx: ProbeContext, path: str, *, missing_ok: bool) -> dict[str, object] | None:
    attempt = Attempt()
    with discovery_errors(ctx.api_key):
        async with (
            asyncio.timeout(ctx.timeout),
            send(ctx.client, attempt, "GET", f"{ctx.base_url}{path}", timeout=ctx.timeout,
                 headers=auth_headers(ctx.api_key)) as response,
        ):
            if missing_ok and response.status_code == 404:
                return None
            failure = await check_status(response, attempt, ctx.api_key)
            if failure:
                raise ProbeFailure(*failure)
            body = await read_body(response, ctx.max_body_bytes, attempt)
        return json_object(body, f"{path} body")
