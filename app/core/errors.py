"""One error base class and one renderer: RFC 9457 problem+json for every 4xx/5xx."""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
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
# app/api/openapi.py registers the `Problem` schema under this name.
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

logger = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 2

# PostgreSQL error codes that mean "not now" rather than "wrong SQL":
# 57014 a cancelled statement (statement_timeout); class 08 connection
# failures; 57P01-57P03 shutdown, crash and start-up; 53300 no free slot.
_QUERY_CANCELED = "57014"
_UNAVAILABLE_SQLSTATE_CLASSES = {"08"}
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# 40P01 a deadlock, 40001 a serialization failure: PostgreSQL ended this
# transaction so that a concurrent one could go on; the same request retried
# succeeds.
_CONFLICT_SQLSTATES = {"40P01", "40001"}


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
        """The route `responses` entry documenting this error.

        No `model`: FastAPI would document it under application/json.
        """
        return {
            cls.status_code: {
                "description": cls.title,
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}
                },
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
        for status, response in error.openapi_response().items():
            if status in responses:
                # Several errors share a status: the description lists them all.
                earlier = responses[status]["description"]
                if response["description"] not in earlier.split("; "):
                    response["description"] = f"{earlier}; {response['description']}"
            responses[status] = response
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
        location, *path = (str(part) for part in item["loc"])
        # A parameter is named alone (`status`, not `status.0` for the first
        # of a comma list); inside a body the whole path helps.
        field = ".".join(path[:1] if location != "body" else path)
        problems.append(
            FieldProblem(
                location=location, field=field or location, message=item["msg"]
            )
        )
    return problems


def render_app_error(error: AppError) -> JSONResponse:
    """The problem response of an error, as the installed handler sends it."""
    return problem_response(
        error.status_code,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        errors=getattr(error, "errors", None),
        headers=error.headers,
    )


async def _render_app_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return render_app_error(error)


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


def internal_error_response() -> JSONResponse:
    """The answer to a failure nobody anticipated; the cause is only logged."""
    return problem_response(
        500,
        slug="internal-error",
        title="Internal server error",
        detail="The request could not be completed. It has been logged.",
    )


async def _render_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("request.failed", error_type=type(error).__name__)
    return internal_error_response()


def database_unavailable(detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _render_unreachable(request: Request, error: Exception) -> JSONResponse:
    # asyncpg raises socket errors (refused, reset, connect timeout; all
    # OSError) as they are: SQLAlchemy wraps only the driver's own errors.
    # The database is the only peer this service connects to.
    logger.warning("database.unreachable", error_type=type(error).__name__)
    return await _render_app_error(
        request, database_unavailable("The database cannot be reached. Retry shortly.")
    )


async def _render_pool_timeout(request: Request, error: Exception) -> JSONResponse:
    logger.warning("database.pool_exhausted")
    return await _render_app_error(
        request,
        database_unavailable(
            "Every database connection is busy and none was freed in time. "
            "Retry shortly."
        ),
    )


def _unavailability(sqlstate: str, *, connection_lost: bool) -> str | None:
    """Why the database could not serve this request, or None if our SQL failed."""
    if sqlstate == _QUERY_CANCELED:
        return (
            "The database did not finish this request within the statement "
            "time limit. Retry shortly, or narrow the request."
        )
    if sqlstate in _CONFLICT_SQLSTATES:
        return (
            "The database stopped this request so that a concurrent one could "
            "finish. Nothing of it was stored. Retry shortly."
        )
    if (
        connection_lost
        or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
        or sqlstate in _UNAVAILABLE_SQLSTATES
    ):
        return "The database is unavailable or restarting. Retry shortly."
    return None


async def _render_unavailable_or_unexpected(
    request: Request, error: Exception, sqlstate: str, *, connection_lost: bool
) -> JSONResponse:
    detail = _unavailability(sqlstate, connection_lost=connection_lost)
    if detail is None:
        return await _render_unexpected(request, error)

    logger.warning(
        "database.unavailable", error_type=type(error).__name__, sqlstate=sqlstate
    )
    return await _render_app_error(request, database_unavailable(detail))


async def _render_database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    return await _render_unavailable_or_unexpected(
        request,
        error,
        str(getattr(error.orig, "sqlstate", None) or ""),
        connection_lost=error.connection_invalidated
        or isinstance(error, InterfaceError | OperationalError),
    )


async def _render_driver_error(request: Request, error: Exception) -> JSONResponse:
    # asyncpg's own errors reach us unwrapped when they happen while a new
    # connection is being set up (SQLAlchemy installs type codecs on it), and
    # from the read path that runs on the driver (app/core/queries.py). A
    # connection the server ended in the middle of an operation answers the
    # next one with InternalClientError ("another operation is in progress").
    return await _render_unavailable_or_unexpected(
        request,
        error,
        str(getattr(error, "sqlstate", None) or ""),
        connection_lost=isinstance(
            error, asyncpg.InterfaceError | asyncpg.InternalClientError
        ),
    )


async def _render_too_large(request: Request, error: Exception) -> JSONResponse:
    limit = request.app.state.settings.max_request_body_bytes
    return body_too_large_response(limit)


def body_too_large_response(limit: int) -> JSONResponse:
    return problem_response(
        413,
        slug="content-too-large",
        title="Content too large",
        detail=f"The request body exceeds the limit of {limit} bytes.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _render_app_error)
    app.add_exception_handler(RequestValidationError, _render_validation_error)
    app.add_exception_handler(StarletteHTTPException, _render_http_error)
    # Starlette's body limit raises an HTTPException with this status.
    app.add_exception_handler(413, _render_too_large)
    app.add_exception_handler(PoolTimeoutError, _render_pool_timeout)
    app.add_exception_handler(DBAPIError, _render_database_error)
    app.add_exception_handler(asyncpg.PostgresError, _render_driver_error)
    app.add_exception_handler(asyncpg.InterfaceError, _render_driver_error)
    app.add_exception_handler(asyncpg.InternalClientError, _render_driver_error)
    app.add_exception_handler(OSError, _render_unreachable)
    app.add_exception_handler(Exception, _render_unexpected)
