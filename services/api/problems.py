"""Errors as RFC 9457 problem details (application/problem+json), for every error answered."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """Raised by routes and dependencies; rendered as one problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.extra = extra or {}


def not_found(what: str) -> ProblemError:
    """The one answer for both 'does not exist' and 'exists but outside your scope'."""
    return ProblemError(404, f"{what} not found")


def unauthorized(detail: str = "not authenticated") -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str) -> ProblemError:
    return ProblemError(403, detail)


def problem_response(
    request: Request,
    status: int,
    detail: str | None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc.status, exc.detail, exc.headers, exc.extra)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, detail, dict(exc.headers or {}))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _jsonable_errors(exc.errors())
        return problem_response(request, 422, "the request is not valid", extra={"errors": errors})

    async def on_refused_value(request: Request, exc: Exception) -> JSONResponse:
        # e.g. a NUL character in a text field, which PostgreSQL cannot store
        return problem_response(
            request,
            422,
            "a value of the request cannot be stored or "
            "compared (text must not contain NUL characters)",
        )

    async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, 503, "database unavailable", {"Retry-After": "5"})

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, 500, "internal error")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(sa.exc.DataError, on_refused_value)
    app.add_exception_handler(psycopg.DataError, on_refused_value)
    app.add_exception_handler(sa.exc.OperationalError, on_database_down)
    app.add_exception_handler(Exception, on_unexpected)


# For route declarations: the problem schema shown in OpenAPI.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Not found (or outside the caller's scope)",
        "content": {PROBLEM_JSON: {}},
    },
    401: {"description": "Not authenticated", "content": {PROBLEM_JSON: {}}},
    422: {"description": "Invalid request", "content": {PROBLEM_JSON: {}}},
}
