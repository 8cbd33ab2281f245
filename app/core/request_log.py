"""One access-log line and one metrics sample per request.

The request id comes from asgi-correlation-id (outside this middleware);
it is bound here into structlog's context, so that every line logged while
the request runs carries it. Headers are never logged: the Authorization
header and its token cannot reach the logs through this path.
"""

import re
import time

import structlog
from asgi_correlation_id import correlation_id
from fastapi import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import internal_error_response
from app.core.http_policy import EXPLORER_ASSETS_PATH, app_path, is_explorer_asset
from app.core.metrics import UNMATCHED_ROUTE, ServiceMetrics

logger = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# Client ids are echoed in headers and logs: short, and no characters that
# could forge a log field or split a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# nginx's code for "the client closed the connection before the answer".
_CLIENT_GONE = 499
# Any token is a valid HTTP method; unknown ones share a label, so that
# clients cannot grow the number of metric series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def is_sane_request_id(value: str) -> bool:
    return _SANE_REQUEST_ID.fullmatch(value) is not None


def record_user(request: Request, user_id: int) -> None:
    """Names the authenticated user in the access line and later log lines."""
    request.state.user_id = user_id
    structlog.contextvars.bind_contextvars(user_id=user_id)


def _route_template(scope: Scope, path: str) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute) and hasattr(route, "path"):
        return str(route.path)
    # Mounted apps leave no route in the scope.
    if is_explorer_asset(path):
        return EXPLORER_ASSETS_PATH + "/{path}"
    return UNMATCHED_ROUTE


class RequestLogMiddleware:
    """Times each request, logs `request.completed` and records metrics.

    An exception no handler took is logged here, with the request id, and
    answered with a 500 problem; handling it inside the middleware stack
    (rather than in Starlette's outermost error middleware) keeps the
    request id and security headers on that answer.
    """

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        status = _CLIENT_GONE
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=correlation_id.get())
        scope.setdefault("state", {})
        path = app_path(scope)
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note)
        except Exception as error:
            if started:
                raise
            logger.exception("request.failed", error_type=type(error).__name__)
            await internal_error_response()(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - began
            route = _route_template(scope, path)
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            self.metrics.observe(method, route, status, elapsed)
            log = logger.warning if status >= 500 else logger.info
            log(
                "request.completed",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                user_id=scope["state"].get("user_id"),
            )
            structlog.contextvars.clear_contextvars()
