"""A router whose paths answer with and without their trailing slash."""

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Message

from app.core.errors import problem_response


class SlashTolerantRouter(APIRouter):
    """Registers `/x/` and `/x` for every route; only `/x/` is documented.

    The replaced system's clients call both spellings; neither may redirect,
    since a redirect drops the Authorization header in many clients.
    """

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        if path.endswith("/") and len(self.prefix + path) > 1:
            alternate = {**kwargs, "include_in_schema": False}
            alternate.pop("operation_id", None)
            super().add_api_route(path.rstrip("/"), endpoint, **alternate)


class ChecksBeforeBodyRoute(APIRoute):
    """A route with a JSON body: size-limited, and judged after the dependencies.

    The body is read here first, and refused with 413 past `max_body_bytes`
    (whether or not a Content-Length announced it). FastAPI decodes a JSON
    body before it solves the dependencies, so a malformed body would be a
    422 even for an anonymous caller or a ticket the caller may not see,
    against the service's order of errors (401, then 404, then 422). Such a
    request is handed to FastAPI without its body: the dependencies run
    first, and the "body missing" error they end with is replaced by the
    decoding error. Routes without a required body are left as FastAPI
    makes them.
    """

    # The largest valid body (50 entities, or 10,000 characters escaped as
    # JSON) is far below this.
    max_body_bytes = 256 * 1024

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or not self.body_field.field_info.is_required():
            return handler

        async def handle(request: Request) -> Response:
            body = await _read_body(request, self.max_body_bytes)
            decode_error = _json_decode_error(request, body)
            if decode_error is None:
                return await handler(Request(request.scope, _replay(body)))
            try:
                return await handler(Request(request.scope, _replay(b"")))
            except RequestValidationError as error:
                raise _as_decode_error(error, decode_error) from None

        return handle


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = HTTPException(413, f"The body may not exceed {limit} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes) -> Callable[[], Coroutine[Any, Any, Message]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _json_decode_error(request: Request, body: bytes) -> ValueError | None:
    """Why the body is not JSON, when its Content-Type says it is."""
    content_type = request.headers.get("content-type")
    if not content_type or not body:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        return None
    try:
        json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        return error
    return None


def _as_decode_error(
    error: RequestValidationError, decode_error: ValueError
) -> RequestValidationError:
    others = [item for item in error.errors() if item["loc"][:1] != ("body",)]
    reason = (
        f"{decode_error.msg} at position {decode_error.pos}"
        if isinstance(decode_error, json.JSONDecodeError)
        else "not valid UTF-8"
    )
    body_error = {
        "type": "json_invalid",
        "loc": ("body",),
        "msg": f"The body is not valid JSON: {reason}.",
        "input": {},
    }
    return RequestValidationError([*others, body_error])


# The methods an Allow header may name, in the order it names them.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route fully answers at the request's path.

    Each method is tried through the routes' own matching, so that routers
    included into the app are asked as the app itself would ask them.
    """
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


async def _method_not_allowed(request: Request, error: Exception) -> Response:
    # Starlette's own 405 names the methods of the first route whose path
    # matched; a path served by several routes (GET and POST on a
    # collection) must list them all.
    allowed = allowed_methods(request)
    return problem_response(
        405,
        slug="method-not-allowed",
        title="Method not allowed",
        detail=f"{request.method} is not allowed here; allowed: "
        + ", ".join(allowed)
        + ".",
        headers={"Allow": ", ".join(allowed)},
    )


def install_method_not_allowed(app: FastAPI) -> None:
    app.add_exception_handler(405, _method_not_allowed)
