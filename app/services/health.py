"""Readiness: whether this instance can serve requests now."""

import asyncio

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories import health as health_repository

logger = structlog.get_logger(__name__)

# Probes are frequent and a slow answer is as bad as none: a database that
# needs more than a second for SELECT 1 cannot serve real requests either.
READINESS_TIMEOUT_SECONDS = 1.0


async def database_is_ready(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with (
            asyncio.timeout(READINESS_TIMEOUT_SECONDS),
            sessionmaker() as session,
        ):
            await health_repository.select_one(session)
    except (OSError, SQLAlchemyError) as error:
        # OSError covers refused connections and timeouts (TimeoutError).
        logger.warning("readiness.database_failed", error_type=type(error).__name__)
        return False
    return True
