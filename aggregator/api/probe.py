"""`POST /api/health/probe`: run the probes of one or every configured target now and answer
each outcome with its timings (docs/api.md, Probe now). The probing itself is the prober's
(`prober.once`), handed to the app as a `ProbeRunner` by the process that serves it
(llmhealth/probe_runner.py): the aggregator does not import the prober.

Closed unless configured: the bearer token is the value of the environment variable that
`aggregator.probe_token_env` names, read at each request; no setting, or the variable unset or
empty, and every request is refused (403) without probing. A missing `Authorization: Bearer`
is 401, a wrong token 403, compared in constant time; the token is never logged or echoed.
One run at a time per process: a request while one runs is refused (429, `Retry-After`: the
seconds until the running one ends at the latest). The targets' API keys come from this
process's environment; results are answered, not stored or exported.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import threading
import time
from typing import Annotated, Protocol

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aggregator.api.errors import NOT_FOUND
from aggregator.api.probe_models import ProbeOutcome, ProbeRequest, ProbeRun, Refused
from llmhealth_config.model import Config

log = logging.getLogger("llmhealth.aggregator")
router = APIRouter(prefix="/api/health", tags=["probe"])
bearer = HTTPBearer(auto_error=False, description=(
    "The value of the aggregator's environment variable named by aggregator.probe_token_env."))

ENABLE = ("set aggregator.probe_token_env (LLMHEALTH_AGGREGATOR__PROBE_TOKEN_ENV) to the name "
          "of an environment variable holding a token, and set that variable in the "
          "aggregator's environment")
TOKEN = ("the token is the value of the aggregator's environment variable that "
         "aggregator.probe_token_env names")
REFUSED = {
    401: {"model": Refused, "description": "no `Authorization: Bearer` token"},
    403: {"model": Refused, "description": "wrong token, or probing is not enabled"},
    429: {"model": Refused, "description": "a run is under way; retry after `Retry-After` s"},
}


class ProbeRunner(Protocol):
    """Runs the probes of the configured targets once, now."""

    def plan(self, target: str | None) -> tuple[int, float]:
        """How many targets a run of `target` (None: every one) probes, and the longest it
        takes in seconds; raises aggregator.api.errors.UnknownName for a name not configured."""

    async def run(self, target: str | None) -> list[ProbeOutcome]:
        """Every probe kind of `target` (None: every configured target) once; never raises
        for a failing probe, and no detail holds a key."""


class OneRun:
    """At most one run at a time in this process, across event loops and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ends = 0.0

    def enter(self, longest_s: float) -> bool:
        """Start a run that lasts at most `longest_s`; False while another one runs."""
        if not self._lock.acquire(blocking=False):
            return False
        self._ends = time.monotonic() + longest_s
        return True

    def leave(self) -> None:
        self._lock.release()

    def retry_after_s(self) -> int:
        """Whole seconds (at least 1) until the running run ends at the latest."""
        return max(1, math.ceil(self._ends - time.monotonic()))


RUNS = OneRun()


def token_of(config: Config) -> str | None:
    """The token requests must bear, None when probing is not enabled."""
    variable = config.aggregator.probe_token_env
    token = os.environ.get(variable, "").strip() if variable else ""
    return token or None


def authorize(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Let the request through only with the configured token; raise 403 or 401 otherwise."""
    expected = token_of(request.app.state.metrics.config)
    if expected is None:
        raise HTTPException(403, f"probing through the API is disabled: {ENABLE}")
    if request.app.state.probe_runner is None:
        raise HTTPException(403, "this process serves the API without a prober to probe with")
    if credentials is None:
        raise HTTPException(401, f"this endpoint needs `Authorization: Bearer <token>`: {TOKEN}",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, f"wrong bearer token: {TOKEN}")


@router.post("/probe", response_model=ProbeRun, dependencies=[Depends(authorize)],
             responses={**REFUSED, **NOT_FOUND})
async def probe_now(request: Request, body: Annotated[ProbeRequest | None, Body()] = None
                    ) -> ProbeRun:
    """Probe one target (`{"target": "name"}`) or every configured target (no body) now, every
    probe kind once, and answer each outcome with its timings. Needs the bearer token; nothing
    is stored."""
    runner: ProbeRunner = request.app.state.probe_runner
    count, longest = runner.plan(body.target if body else None)
    if not RUNS.enter(longest):
        raise HTTPException(429, "a probe run is under way; one runs at a time: retry later",
                            headers={"Retry-After": str(RUNS.retry_after_s())})
    started = time.perf_counter()
    try:
        results = await runner.run(body.target if body else None)
    finally:
        RUNS.leave()
    run = ProbeRun(results=results, probes=len(results), failed=sum(not r.ok for r in results),
                   duration_s=time.perf_counter() - started)
    log.info("probe now: %d probes of %d targets, %d failed, in %.1f s (requested from %s)",
             run.probes, count, run.failed, run.duration_s,
             request.client.host if request.client else "?")
    return run
