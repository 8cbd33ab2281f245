"""Probes and metrics for the people and machines that run the service.

None of these needs a token; none is part of the public API document.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.core.errors import database_unavailable
from app.core.metrics import METRICS_MEDIA_TYPE, may_read_metrics
from app.services import health as health_service

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving; touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """The database answers within a second; 503 otherwise."""
    if not await health_service.database_is_ready(request.app.state.sessionmaker):
        raise database_unavailable("The database did not answer the readiness check.")
    return {"status": "ok"}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format, for clients in METRICS_ALLOWED_NETWORKS only."""
    client = request.client.host if request.client else None
    if not may_read_metrics(
        client, request.app.state.settings.metrics_allowed_networks
    ):
        # The same answer as an unknown path: nothing to learn from it.
        raise HTTPException(404)
    return Response(request.app.state.metrics.render(), media_type=METRICS_MEDIA_TYPE)
