"""How the API answers bad input, without echoing it: an unknown name is a 404 listing the known
ones; a query parameter that does not validate is a 422 naming the parameter and what it allows,
never the value sent (a token pasted in the wrong place must not come back in a response, a
log or a proxy's cache)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from aggregator.api.models import NotFound, Unavailable

LISTED = 20
"""At most this many names in a 404's text; `valid` has them all."""


class UnknownName(Exception):
    """`what` (target, pool, model) is not known; `valid` are the names that are."""

    def __init__(self, what: str, valid: list[str]) -> None:
        super().__init__(what)
        self.what, self.valid = what, valid


class ParameterError(Exception):
    """A request whose parameters are each valid but do not go together."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def not_found(exc: UnknownName) -> NotFound:
    names = ", ".join(exc.valid[:LISTED]) or "none yet"
    more = f" and {len(exc.valid) - LISTED} more (see valid)" if len(exc.valid) > LISTED else ""
    return NotFound(detail=f"unknown {exc.what}; known {exc.what}s: {names}{more}", valid=exc.valid)


async def _unknown_name(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownName)
    return JSONResponse(not_found(exc).model_dump(), status_code=404)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"),
               "type": e.get("type", "value_error")} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def _parameters(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParameterError)
    return JSONResponse({"detail": [{"loc": ["query"], "msg": exc.message, "type": "value_error"}]},
                        status_code=422)


NAMED_PATHS = ("/api/health/targets/", "/api/badge/")
"""Paths whose rest is a name: one that no route matches (a name with a line break, which a
path parameter cannot hold) is an unknown name too."""


async def _no_route(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith(NAMED_PATHS):
        names = request.app.state.health.view.names
        return JSONResponse(not_found(UnknownName("target", names)).model_dump(), status_code=404)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(UnknownName, _unknown_name)
    app.add_exception_handler(HTTPException, _no_route)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ParameterError, _parameters)


NOT_FOUND = {404: {"model": NotFound, "description": "unknown name; `valid` lists the known ones"}}
UNAVAILABLE = {503: {"model": Unavailable, "description": "the store cannot be read now"}}
