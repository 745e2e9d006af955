"""RFC 9457 problem details: every error response of the API is shaped here, in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError, RateLimited, ValidationFailed

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://docs.retail-advisor.dev/problems/"
_MAX_MSG = 300


def problem(status: int, title: str, detail: str, request: Request, *, type_: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (type_ or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echo where and what, never the offending input: it may be a secret pasted in the wrong field.
    return [{"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))[:_MAX_MSG]}
            for err in exc.errors()]


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return problem(400, "Malformed JSON", "the request body is not valid JSON", request)
    return problem(422, "Validation failed", "the request does not match the schema", request,
                   errors=_field_errors(exc))


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {}
    headers = None
    if isinstance(exc, ValidationFailed):
        extra["errors"] = [{"loc": e.loc, "msg": e.msg} for e in exc.errors]
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    return problem(exc.status, exc.title, exc.detail, request, headers=headers, **extra)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large", 401: "Unauthorized"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(exc.status_code, title, detail, request, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(500, "Internal error", "something went wrong on our side; it was logged", request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
