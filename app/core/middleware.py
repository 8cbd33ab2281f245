"""The middleware stack, from the outside in; see create_app for the proxy."""

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.cors import CORSMiddleware

from app.core.http_policy import DeclaredBodySizeLimit, SecurityHeadersMiddleware
from app.core.metrics import ServiceMetrics
from app.core.request_log import (
    REQUEST_ID_HEADER,
    RequestLogMiddleware,
    is_sane_request_id,
)
from app.core.settings import Settings


def install_middleware(
    app: FastAPI, settings: Settings, metrics: ServiceMetrics
) -> None:
    # add_middleware puts each new layer outside the previous ones, so the
    # innermost is added first.
    # Starlette's limit counts bodies as they are read (chunked ones too);
    # the declared-length check in front of it answers before any work.
    app.add_middleware(
        RequestBodyLimitMiddleware, max_body_size=settings.max_request_body_bytes
    )
    app.add_middleware(DeclaredBodySizeLimit, max_bytes=settings.max_request_body_bytes)
    if settings.cors_allowed_origins:
        # Outside the size limit, so that browsers can read its 413 too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                REQUEST_ID_HEADER,
            ],
            expose_headers=["ETag", "Location", "Retry-After", REQUEST_ID_HEADER],
            max_age=600,
        )
    app.add_middleware(RequestLogMiddleware, metrics=metrics)
    # Outside the request log, which answers unexpected errors itself.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        validator=is_sane_request_id,
    )
