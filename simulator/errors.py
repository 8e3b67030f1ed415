"""OpenAI-style API errors raised by route handlers and rendered as JSON responses."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator.openai_shapes import error_body


class ApiError(Exception):
    """An error the API reports to the client as `status` + an OpenAI error object."""

    def __init__(self, status: int, message: str, type_: str, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, code)

    @classmethod
    def invalid_request(cls, message: str) -> ApiError:
        """400 for a body that is not a valid chat completion request."""
        return cls(400, message, "invalid_request_error", None)

    @classmethod
    def model_not_found(cls, model: str) -> ApiError:
        """404 for a model the simulator does not serve."""
        message = f"The model `{model}` does not exist or you do not have access to it."
        return cls(404, message, "invalid_request_error", "model_not_found")


async def render_api_error(_request: Request, exc: ApiError) -> JSONResponse:
    """Exception handler turning an `ApiError` into its JSON response."""
    return JSONResponse(exc.body, status_code=exc.status)
