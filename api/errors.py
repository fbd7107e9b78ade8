"""Every error the API answers with is one document: `{"error": {"code", "message", "field"}}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException

from domain.errors import ConcordError, InvalidInput, NotFound

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    """`invalid_input`, `unauthenticated`, `forbidden`, `not_found`, a rule's code (409), ..."""
    message: str
    field: str | None = None


class ErrorDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    error: ErrorDetail


class TooLarge(ConcordError):
    http_status = 413
    label = "too large"
    kind = "too_large"


class RateLimited(ConcordError):
    http_status = 429
    label = "rate limited"
    kind = "rate_limited"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        """Whole seconds until a request would be taken again (the Retry-After header)."""


ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorDocument, "description": description}
    for status, description in (
        (401, "No token, or a token unknown, revoked or expired"),
        (403, "The token's principal may not do this"),
        (404, "No such decision, member or resource"),
        (413, "The body is larger than the limit"),
        (422, "Malformed input: the field and the rule it breaks"),
        (429, "Too many requests for this token"),
        (503, "Temporal or the event store cannot be reached"),
    )
}
"""The error responses every authenticated route documents."""
REFUSED: Final[dict[int | str, dict[str, Any]]] = {
    409: {
        "model": ErrorDocument,
        "description": "The procedure's rules refuse the command now; the code is the rule's",
    }
}


MAX_FIELD_PART: Final = 64
"""A field's name as the error names it: an unknown key sent a megabyte long is not echoed."""


def field_of(location: tuple[int | str, ...] | list[int | str]) -> str:
    """The dotted name of a field from a validation error's location (without `body`)."""
    parts = [
        text if len(text := str(part)) <= MAX_FIELD_PART else text[:MAX_FIELD_PART] + "..."
        for part in location
        if part not in ("body", "query", "path", "header")
    ]
    return ".".join(parts) or "body"


def invalid(error: ValidationError | RequestValidationError) -> InvalidInput:
    first = error.errors()[0]
    if first.get("type") == "json_invalid":  # its location is a character offset, not a field
        reason = first.get("ctx", {}).get("error", "")
        return InvalidInput("body", f"is not valid JSON ({reason})" if reason else "is not JSON")
    return InvalidInput(field_of(first.get("loc", ())), str(first.get("msg", "is invalid")))


UNREADABLE_BODY: Final = InvalidInput(
    "body", "cannot be read as a JSON document (UTF-8, nested at most a few hundred deep)"
)


def respond(error: ConcordError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.document(), status_code=error.http_status, headers=headers)


RETRY_AFTER_S: Final = "5"
"""When a 503 tells the client to come back: the store or Temporal is down, briefly as a rule."""

PageFor = Callable[[Request, ConcordError], Response]
"""How the portal shows an error as a page (for paths under /portal)."""


def install(app: FastAPI, page_for: PageFor) -> None:
    """Every failure leaves as the error document (a page, under /portal): Concord's errors
    with their status, bad input as 422 naming the field, anything unexpected as 500 without
    its traceback."""

    @app.exception_handler(ConcordError)
    async def concord_error(request: Request, error: ConcordError) -> Response:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.refused(error)
        if request.url.path.startswith("/portal"):
            response = page_for(request, error)
        else:
            response = respond(error)
        # Unavailable (503): a dependency is down; the client should come back, not give up.
        # Rate limited (429): it says when a request would be taken again.
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        elif error.http_status == 503:
            response.headers["Retry-After"] = RETRY_AFTER_S
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> Response:
        if request.url.path.startswith("/portal"):
            return page_for(request, invalid(error))
        return respond(invalid(error))

    @app.exception_handler(ValidationError)
    async def bad_command(request: Request, error: ValidationError) -> JSONResponse:
        return respond(invalid(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if request.url.path.startswith("/portal"):
            return page_for(request, NotFound(f"there is no page {request.url.path}"))
        if error.status_code == 400:  # the framework could not parse the body at all
            return respond(UNREADABLE_BODY)
        codes = {404: "not_found", 405: "method_not_allowed"}
        document = {
            "error": {
                "code": codes.get(error.status_code, "http_error"),
                "message": str(error.detail),
                "field": None,
            }
        }
        return JSONResponse(document, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def defect(request: Request, error: Exception) -> JSONResponse:
        log.error("request failed", path=request.url.path, exc_info=error)
        document = {"error": {"code": "failed", "message": "internal error", "field": None}}
        return JSONResponse(document, status_code=500)
