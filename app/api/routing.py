"""A router whose paths answer with and without their trailing slash."""

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import Message


class SlashTolerantRouter(APIRouter):
    """Registers `/x/` and `/x` for every route; only `/x/` is documented.

    The replaced system's clients call both spellings; neither may redirect,
    since a redirect drops the Authorization header in many clients.
    """

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        if path.endswith("/") and len(path) > 1:
            alternate = {**kwargs, "include_in_schema": False}
            alternate.pop("operation_id", None)
            super().add_api_route(path.rstrip("/"), endpoint, **alternate)


class ChecksBeforeBodyRoute(APIRoute):
    """Reports an undecodable JSON body only after the dependencies passed.

    FastAPI decodes a JSON body before it solves the dependencies, so a
    malformed body would be a 422 even for an anonymous caller or a ticket the
    caller may not see, against the service's order of errors (401, then 404,
    then 422). This route hands such a request to FastAPI without its body:
    the dependencies run first, and the "body missing" error they end with is
    replaced by the decoding error. Routes whose body is optional are left
    as FastAPI makes them: without a body they would run.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or not self.body_field.field_info.is_required():
            return handler

        async def handle(request: Request) -> Response:
            decode_error = await _json_decode_error(request)
            if decode_error is None:
                return await handler(request)
            try:
                return await handler(Request(request.scope, _empty_body))
            except RequestValidationError as error:
                raise _as_decode_error(error, decode_error) from None

        return handle


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _json_decode_error(request: Request) -> ValueError | None:
    """Why the body is not JSON, when its Content-Type says it is."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        return None
    body = await request.body()
    if not body:
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
