"""One error base class and one renderer: RFC 9457 problem+json for every 4xx/5xx."""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:support-tickets:problem:"

logger = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One rejected input: where it was, which field, and which rule it broke."""

    location: str = Field(examples=["query"])
    field: str = Field(examples=["status"])
    message: str = Field(examples=["Input should be 'OPEN', 'UNDER_REVIEW', ..."])


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "validation-error"])
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


class AppError(Exception):
    """Base of every error a client may see; subclasses set status and type."""

    status_code: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})

    @classmethod
    def openapi_response(cls) -> dict[int | str, dict[str, Any]]:
        """The route `responses` entry documenting this error."""
        return {
            cls.status_code: {
                "model": Problem,
                "description": cls.title,
                "content": {PROBLEM_MEDIA_TYPE: {}},
            }
        }


class NotAuthenticated(AppError):
    status_code = 401
    slug = "not-authenticated"
    title = "Not authenticated"


class PermissionDenied(AppError):
    status_code = 403
    slug = "permission-denied"
    title = "Permission denied"


class NotFound(AppError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(AppError):
    status_code = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class InvalidInput(AppError):
    """A well-formed request that breaks a rule checked after parsing."""

    status_code = 422
    slug = "validation-error"
    title = "Invalid input"

    def __init__(self, detail: str, *, errors: Sequence[FieldProblem]) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    @classmethod
    def of_field(cls, location: str, field: str, message: str) -> "InvalidInput":
        """One input refused, with `message` as the whole story."""
        problem = FieldProblem(location=location, field=field, message=message)
        return cls(message, errors=[problem])


class ServiceUnavailable(AppError):
    status_code = 503
    slug = "service-unavailable"
    title = "Service unavailable"


def documented(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route, from the errors it may raise."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        responses.update(error.openapi_response())
    return responses


def problem_response(
    status_code: int,
    *,
    slug: str,
    title: str,
    detail: str,
    errors: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + slug,
        title=title,
        status=status_code,
        detail=detail,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status_code,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _field_problems(error: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        location, *path = item["loc"]
        problems.append(
            FieldProblem(
                location=str(location),
                field=".".join(str(part) for part in path) or str(location),
                message=item["msg"],
            )
        )
    return problems


async def _render_app_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return problem_response(
        error.status_code,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        errors=getattr(error, "errors", None),
        headers=error.headers,
    )


async def _render_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = _field_problems(error)
    named = ", ".join(sorted({problem.field for problem in problems}))
    return problem_response(
        422,
        slug=InvalidInput.slug,
        title=InvalidInput.title,
        detail=f"The request has invalid input: {named}.",
        errors=problems,
    )


async def _render_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    detail = error.detail if isinstance(error.detail, str) else phrase
    return problem_response(
        error.status_code,
        slug=phrase.lower().replace(" ", "-"),
        title=phrase,
        detail=detail,
        headers=error.headers,
    )


async def _render_database_unavailable(
    request: Request, error: Exception
) -> JSONResponse:
    logger.warning("database.unavailable", error_type=type(error).__name__)
    return problem_response(
        503,
        slug=ServiceUnavailable.slug,
        title=ServiceUnavailable.title,
        detail="The database is not answering in time. Retry shortly.",
        headers={"Retry-After": "2"},
    )


async def _render_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("request.failed", error_type=type(error).__name__)
    return problem_response(
        500,
        slug="internal-error",
        title="Internal server error",
        detail="The request could not be completed. It has been logged.",
    )


def _is_unavailable(error: DBAPIError) -> bool:
    """Lost connections and timeouts, as opposed to errors in our SQL."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if isinstance(error, OperationalError):
        return True
    cause_name = type(error.orig).__name__ if error.orig is not None else ""
    return cause_name in {"QueryCanceledError", "ConnectionDoesNotExistError"}


async def _render_database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    if _is_unavailable(error):
        return await _render_database_unavailable(request, error)
    return await _render_unexpected(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _render_app_error)
    app.add_exception_handler(RequestValidationError, _render_validation_error)
    app.add_exception_handler(StarletteHTTPException, _render_http_error)
    app.add_exception_handler(PoolTimeoutError, _render_database_unavailable)
    app.add_exception_handler(DBAPIError, _render_database_error)
    app.add_exception_handler(Exception, _render_unexpected)
