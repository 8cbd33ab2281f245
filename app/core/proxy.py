"""Forwarded headers, believed only when they come from a trusted proxy."""

from ipaddress import ip_address

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.core.settings import Network


class ForwardedPrefixAndHost:
    """Applies X-Forwarded-Host and X-Forwarded-Prefix from trusted peers.

    Scheme and client address (X-Forwarded-Proto/-For) are left to uvicorn's
    own middleware, installed inside this one so that both judge the same
    peer. The path prefix is the forwarded one, else the configured
    ROOT_PATH; following ASGI, it is kept in both `root_path` and `path`,
    so that `request.url` and the links built from it are the public URL.
    """

    def __init__(self, app: ASGIApp, *, trusted: list[Network], root_path: str) -> None:
        # uvicorn types its middleware with its own ASGI protocol types.
        self.app: ASGIApp = ProxyHeadersMiddleware(  # type: ignore[assignment]
            app,  # type: ignore[arg-type]
            trusted_hosts=[str(network) for network in trusted],
        )
        self.trusted = trusted
        self.root_path = root_path

    def _is_trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        prefix = self.root_path
        if self._is_trusted(scope):
            headers = dict(scope["headers"])
            forwarded_host = headers.get(b"x-forwarded-host")
            if forwarded_host:
                host = forwarded_host.split(b",")[0].strip()
                scope["headers"] = [
                    (name, host if name == b"host" else value)
                    for name, value in scope["headers"]
                ]
            forwarded_prefix = headers.get(b"x-forwarded-prefix")
            if forwarded_prefix:
                prefix = forwarded_prefix.decode("latin-1").strip().rstrip("/")

        if prefix and not scope["path"].startswith(prefix + "/"):
            scope["path"] = prefix + scope["path"]
        scope["root_path"] = prefix
        await self.app(scope, receive, send)
