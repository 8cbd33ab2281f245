"""Response headers for a JSON API, and the request body size limit."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import body_too_large_response

# Where the explorer's Swagger UI and ReDoc files are served from.
EXPLORER_ASSETS_PATH = "/explorer-assets"

# JSON cannot run scripts, so API answers may load nothing at all.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The only HTML this service serves is the explorer (/docs, /redoc). Its
# assets come from this origin; its pages start the UI with an inline
# script, Swagger UI and ReDoc style elements inline and draw icons as
# data: images, and ReDoc runs a web worker from a blob: URL.
EXPLORER_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def app_path(scope: Scope) -> str:
    """The request path without the public prefix (ROOT_PATH) in front."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path.removeprefix(root_path) if root_path else path


def is_explorer_asset(path: str) -> bool:
    return path.startswith(EXPLORER_ASSETS_PATH + "/")


class SecurityHeadersMiddleware:
    """Adds the headers on every answer; answers are never cached.

    The explorer's static assets may be kept by the browser but are
    revalidated, so that an upgrade is seen at once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        cache_control = "no-cache" if is_explorer_asset(app_path(scope)) else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _FIXED_HEADERS.items():
                    headers.setdefault(name, value)
                is_html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy", EXPLORER_CSP if is_html else API_CSP
                )
                headers.setdefault("Cache-Control", cache_control)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeclaredBodySizeLimit:
    """Refuses a body whose Content-Length is over the limit, before any work.

    Bodies without a length (chunked) are counted as they are read by
    Starlette's RequestBodyLimitMiddleware, installed inside this one, whose
    413 the error handlers render. For a declared length Starlette would let
    the route run and then replace its answer with a plain-text 413; this
    answers at once, as problem+json.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                response = body_too_large_response(self.max_bytes)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
