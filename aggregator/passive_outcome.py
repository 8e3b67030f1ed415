"""`error.type` of applications' requests, as instrumentations send it, mapped onto the
outcome taxonomy of the probes (docs/metrics.md, "Outcome taxonomy"), so that an application's
429 counts towards `rate_limited` as a probe's does.

Instrumentations send an exception's class name in several spellings (`RateLimitError`,
`openai.RateLimitError`, `<class 'openai.RateLimitError'>`, Java's `com.openai.errors.
RateLimitException`), an HTTP status code (`429`), or a value of their own (`timeout`).
A value this table does not know is kept verbatim and counted as an error. The table, with
where each value comes from, is in docs/metrics.md ("Applications' error.type").
"""

from __future__ import annotations

import re

OUTCOMES = ("timeout", "connect", "dns", "tls", "http_429", "auth", "http_4xx", "http_5xx",
            "stream_interrupted", "invalid_response", "empty_response")
"""The probes' error types: an application value that already is one keeps it."""

_CLASS_NAMES = {
    "http_429": ("RateLimitError", "RateLimitException", "TooManyRequests", "TooManyRequestsError",
                 "ThrottlingException", "ResourceExhausted", "rate_limit_exceeded",
                 "rate_limit_error"),
    "timeout": ("APITimeoutError", "Timeout", "TimeoutError", "TimeoutException", "ReadTimeout",
                "ConnectTimeout", "WriteTimeout", "PoolTimeout", "ReadTimeoutError",
                "SocketTimeoutException", "HttpTimeoutException", "DeadlineExceeded",
                "ServerTimeoutError"),
    "connect": ("APIConnectionError", "ConnectError", "ConnectionError", "ConnectionRefusedError",
                "ConnectionResetError", "ConnectionAbortedError", "RemoteProtocolError",
                "ClientConnectorError", "ServerDisconnectedError", "ConnectException",
                "HttpRequestException"),
    "dns": ("gaierror", "UnknownHostException", "NameResolutionError"),
    "tls": ("SSLError", "SSLCertVerificationError", "SSLHandshakeException",
            "server_certificate_invalid"),
    "auth": ("AuthenticationError", "PermissionDeniedError", "UnauthorizedException",
             "PermissionDeniedException", "AccessDeniedException", "Unauthenticated",
             "PermissionDenied"),
    "http_4xx": ("BadRequestError", "NotFoundError", "ConflictError", "UnprocessableEntityError",
                 "BadRequestException", "NotFoundException", "UnprocessableEntityException",
                 "ValidationException", "InvalidArgument"),
    "http_5xx": ("InternalServerError", "InternalServerException", "ServiceUnavailableError",
                 "ServiceUnavailableException", "OverloadedError", "APIStatusError",
                 "ServiceUnavailable", "ModelErrorException", "ModelNotReadyException"),
    "invalid_response": ("JSONDecodeError", "APIResponseValidationError", "JsonParseException"),
}
_BY_NAME = {name.lower(): outcome for outcome, names in _CLASS_NAMES.items() for name in names}
_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")


def outcome(error_type: str) -> str:
    """The outcome of a request whose `error.type` is `error_type`: `ok` for none (''), a
    value of the taxonomy, else `error_type` itself (an error of a kind the table does not
    know)."""
    value = error_type.strip()
    if not value:
        return "ok"
    if value in OUTCOMES:
        return value
    if value.isdigit() and len(value) == 3:
        return _status(int(value))
    shown = _CLASS_REPR.match(value)
    name = (shown.group(1) if shown else value).rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    return _BY_NAME.get(name.lower(), error_type)


def _status(code: int) -> str:
    if code == 429:
        return "http_429"
    if code in (401, 403):
        return "auth"
    if 400 <= code < 500:
        return "http_4xx"
    if 500 <= code < 600:
        return "http_5xx"
    return str(code)


def outcomes(error_types: list[str]) -> dict[str, str]:
    """`error.type` → outcome for each value (failures only: '' is left out)."""
    return {value: outcome(value) for value in error_types if value.strip()}
