"""A simulated model's rate limit: requests and tokens per fixed window, counted down in the
response headers as the real APIs report them, and refused with a 429 once spent.

OpenAI reports `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with resets as Go
durations (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers);
Anthropic `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` with resets as RFC 3339
instants (https://docs.anthropic.com/en/api/rate-limits#response-headers). Each request is
charged when it is admitted: one request, and its prompt plus its token limit in tokens (OpenAI
counts `max_tokens` against the token limit up front). A request that does not fit what remains
of the window is refused until the window ends, with `retry-after` set to then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse

from simulator import anthropic_shapes, openai_shapes

Count = Annotated[int, Field(ge=1)]


class RateLimit(BaseModel):
    """`requests` and `tokens` (either may be left out: unlimited) per `window` seconds, the
    windows following each other from the model's start (or its last PUT)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: Count | None = None
    tokens: Count | None = None
    window: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _something_limited(self) -> RateLimit:
        if self.requests is None and self.tokens is None:
            raise ValueError("rate_limit needs requests or tokens (or both)")
        return self


@dataclass(frozen=True)
class Admission:
    """What the limit said to one request: whether it was admitted, and what remains of each
    limited resource (after it, when admitted) until the window resets in `reset_s` seconds."""

    admitted: bool
    limit: RateLimit
    remaining_requests: int | None
    remaining_tokens: int | None
    reset_s: float

    def openai_headers(self) -> dict[str, str]:
        """`x-ratelimit-*` of each limited resource (and `retry-after` when refused)."""
        headers = self._retry_after()
        reset = f"{self.reset_s:.3f}s"
        for resource, limit, remaining in self._resources():
            headers[f"x-ratelimit-limit-{resource}"] = str(limit)
            headers[f"x-ratelimit-remaining-{resource}"] = str(remaining)
            headers[f"x-ratelimit-reset-{resource}"] = reset
        return headers

    def anthropic_headers(self) -> dict[str, str]:
        """`anthropic-ratelimit-*` of each limited resource (and `retry-after` when refused)."""
        headers = self._retry_after()
        reset = anthropic_shapes.rfc3339(datetime.now(UTC) + timedelta(seconds=self.reset_s))
        for resource, limit, remaining in self._resources():
            headers[f"anthropic-ratelimit-{resource}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{resource}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{resource}-reset"] = reset
        return headers

    def _resources(self) -> list[tuple[str, int, int]]:
        pairs = (("requests", self.limit.requests, self.remaining_requests),
                 ("tokens", self.limit.tokens, self.remaining_tokens))
        return [(name, limit, remaining) for name, limit, remaining in pairs
                if limit is not None and remaining is not None]

    def _retry_after(self) -> dict[str, str]:
        return {} if self.admitted else {"retry-after": str(max(1, math.ceil(self.reset_s)))}


@dataclass
class _Window:
    index: int
    requests: int = 0
    tokens: int = 0


@dataclass
class Quotas:
    """The current window's usage of every rate-limited model."""

    _windows: dict[str, _Window] = field(default_factory=dict)

    def admit(self, name: str, limit: RateLimit, tokens: int, elapsed_s: float) -> Admission:
        """Charge one request of `tokens` tokens to `name`, `elapsed_s` seconds after its
        windows started, if it fits what remains; else refuse it and charge nothing."""
        index = int(elapsed_s // limit.window)
        window = self._windows.get(name)
        if window is None or window.index != index:
            window = self._windows[name] = _Window(index)
        fits = ((limit.requests is None or window.requests < limit.requests)
                and (limit.tokens is None or window.tokens + tokens <= limit.tokens))
        if fits:
            window.requests += 1
            window.tokens += tokens
        return Admission(
            admitted=fits, limit=limit,
            remaining_requests=None if limit.requests is None else limit.requests - window.requests,
            remaining_tokens=None if limit.tokens is None else limit.tokens - window.tokens,
            reset_s=(index + 1) * limit.window - elapsed_s)

    def forget(self, name: str) -> None:
        """Start `name`'s windows afresh (its behaviour was replaced)."""
        self._windows.pop(name, None)


def openai_exceeded(admission: Admission) -> JSONResponse:
    """The 429 OpenAI answers a request over its limit, with the headers counted down."""
    body = openai_shapes.error_body("Rate limit reached (simulated).", "requests",
                                    "rate_limit_exceeded")
    return JSONResponse(body, status_code=429, headers=admission.openai_headers())


def anthropic_exceeded(admission: Admission) -> JSONResponse:
    """The 429 `rate_limit_error` Anthropic answers a request over its limit."""
    body = anthropic_shapes.error_body("rate_limit_error", "Rate limit exceeded (simulated).")
    return JSONResponse(body, status_code=429, headers=admission.anthropic_headers())
