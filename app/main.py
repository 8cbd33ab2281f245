"""The ASGI application: `uvicorn --factory app.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.api.list_cache import ListAnswerCache, ListCacheMiddleware
from app.api.openapi import install_problem_documentation
from app.api.routes import (
    operations,
    support_tickets,
    ticket_comments,
    ticket_events,
    ticket_workflow,
)
from app.api.routing import install_method_not_allowed
from app.core.database import ConnectionWaits, create_engine, create_sessionmaker
from app.core.errors import install_error_handlers
from app.core.http_policy import EXPLORER_ASSETS_PATH
from app.core.logging import configure_logging
from app.core.metrics import ServiceMetrics
from app.core.middleware import install_middleware
from app.core.proxy import ForwardedPrefixAndHost
from app.core.request_target import RefuseUndecodableTarget
from app.core.settings import Settings, get_settings

logger = structlog.get_logger(__name__)

DESCRIPTION = """
Fleet customers dispute toll charges here; support staff review and resolve
the disputes. `GET /v2/support-tickets/` keeps the contract of the system it
replaces, with stricter validation: unknown filter values, ordering fields
and out-of-range numbers are refused with 422 instead of being ignored.
Every error is `application/problem+json` (RFC 9457).

Writes: a ticket is opened, edited, discussed and moved through its review
under `/v2/support-tickets/{id}/...`. Responses carry a strong `ETag`;
PATCH and transitions accept `If-Match` (stale: 412, nothing changed). Every
POST accepts an `Idempotency-Key`: a retry gets the first answer, marked
`Idempotent-Replayed: true`. Where several errors apply, the first of 401,
404, 422, 403, 412, 409 is sent; another fleet's ticket is a 404, exactly as
a ticket that does not exist.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    if settings.list_cache_max_bytes:
        app.state.list_cache = ListAnswerCache(
            engine,
            max_bytes=settings.list_cache_max_bytes,
            wait_seconds=settings.database_statement_timeout_ms / 1000,
        )
        app.state.metrics.watch_list_cache(app.state.list_cache)
    app.state.metrics.watch_pool(engine.pool, app.state.connection_waits)
    logger.info("app.started")
    yield
    # uvicorn gets here after the in-flight requests finished (or the
    # grace period ran out), so no request still holds a connection.
    await engine.dispose()
    logger.info("app.stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    # /docs and /redoc with Swagger UI and ReDoc served from the package's
    # own copy, not a CDN: gateways and build machines often reach none.
    app = FastAPIOffline(
        title="Support tickets",
        version="2.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        # Swagger UI would otherwise ask an online validator about the spec.
        swagger_ui_parameters={"validatorUrl": None},
        static_url=EXPLORER_ASSETS_PATH,
    )
    app.state.settings = settings
    app.state.metrics = ServiceMetrics()
    app.state.connection_waits = ConnectionWaits()
    install_error_handlers(app)
    install_method_not_allowed(app)
    install_problem_documentation(app)
    app.include_router(operations.router)
    app.include_router(support_tickets.router)
    app.include_router(ticket_workflow.router)
    app.include_router(ticket_comments.router)
    app.include_router(ticket_events.router)
    # Innermost: only requests that every outer layer let through are
    # answered from the cache, and its answers are logged and decorated.
    app.add_middleware(ListCacheMiddleware)
    # Its refusals are logged and counted.
    app.add_middleware(RefuseUndecodableTarget)
    install_middleware(app, settings, app.state.metrics)
    app.add_middleware(
        ForwardedPrefixAndHost,
        trusted=settings.trusted_proxies,
        root_path=settings.root_path,
    )
    return app
