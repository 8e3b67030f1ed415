"""The custom HTTP check (protocol `http`): a gateway's or server's own health endpoint, such
as LiteLLM `/health/liveliness`, Portkey's health route or vLLM `/health`.

One probe kind, `http`: send `check.method` (GET, HEAD, or POST without a body) to the
target's `base_url`, the full URL to check, with `Authorization: Bearer <key>` only when the
target has an API key. Redirects are not followed. It is ok when the status is one of
`check.expect_status` and every body condition given holds:

- `body_contains`: the text occurs in the body (decoded as UTF-8, invalid bytes replaced);
- `json_path`: the body is a JSON object in which the dotted keys lead through objects to a
  value, which equals `json_equals` when given, compared as JSON values (`"ok"` is not `1`,
  `true` is not `"true"`).

An unexpected error status (4xx, 5xx) is its usual error type (`auth`, `http_429`, `http_4xx`,
`http_5xx`); any other unexpected status, a failed condition or a body over `max_body_bytes`
is `invalid_response`. A HEAD check has no body conditions (the config rejects them), so
its body is never read.
"""

from __future__ import annotations

import json

import httpx

from prober.attempt import Attempt, run_attempt
from prober.body import read_body
from prober.context import ProbeContext, ProbeFn
from prober.exchange import check_status, json_object, send
from prober.outcome import OK, ProbeResult, classify_status

_MISSING = object()


async def probe_http(ctx: ProbeContext) -> ProbeResult:
    """Check the target's URL as its `check` describes (see the module docstring)."""
    check = ctx.target.http_check
    headers = {"Authorization": f"Bearer {ctx.api_key}"} if ctx.api_key else {}

    async def work(attempt: Attempt) -> tuple[str, str]:
        async with send(ctx.client, attempt, check.method, ctx.target.base_url,
                        timeout=ctx.timeout, headers=headers) as response:
            failure = await _check_status(response, attempt, ctx)
            if failure:
                return failure
            if check.body_contains is None and check.json_path is None:
                return OK, ""
            body = await read_body(response, ctx.max_body_bytes, attempt)
        return judge_body(body, check.body_contains, check.json_path, check.json_equals)

    return await run_attempt(ctx.target.name, "http", work, timeout=ctx.timeout,
                             secret=ctx.api_key, bounds=ctx.bounds)


PROBES: dict[str, ProbeFn] = {"http": probe_http}


def judge_body(
    body: bytes, contains: str | None, path: str | None, equals: object = None
) -> tuple[str, str]:
    """ok when `body` contains `contains` and, as a JSON object, has a value at the dotted
    `path` that equals `equals` (when given), each condition only when set."""
    if contains is not None and contains not in body.decode("utf-8", errors="replace"):
        return "invalid_response", f"body does not contain {contains!r}"
    if path is None:
        return OK, ""
    value = resolve(json_object(body, "body"), path)
    if value is _MISSING:
        return "invalid_response", f"json path {path} not found"
    if equals is not None and not json_equal(value, equals):
        return "invalid_response", f"{path} is {_show(value)}, expected {_show(equals)}"
    return OK, ""


def resolve(document: object, path: str) -> object:
    """The value at the dotted `path` through nested objects, or `_MISSING`."""
    value = document
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def json_equal(a: object, b: object) -> bool:
    """Equality of JSON values: a bool equals only a bool, a number only a number
    (`1 == 1.0`), a string only a string."""
    return _json_type(a) == _json_type(b) and a == b


async def _check_status(
    response: httpx.Response, attempt: Attempt, ctx: ProbeContext
) -> tuple[str, str] | None:
    expected = ctx.target.http_check.expect_status
    code = response.status_code
    if code in expected:
        return None
    if classify_status(code) is not None:
        return await check_status(response, attempt, ctx.api_key)
    return "invalid_response", f"HTTP {code}, expected {' or '.join(map(str, expected))}"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)
