"""The async engine and the per-request session."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine whose every connection carries the service's time limits."""
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        # A connection the server dropped (restart, failover) is replaced
        # before use instead of failing the request that drew it.
        pool_pre_ping=True,
        connect_args={
            "timeout": settings.database_connect_timeout,
            "server_settings": {
                "application_name": "support-tickets",
                "statement_timeout": str(settings.database_statement_timeout_ms),
                "TimeZone": "UTC",
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: responses are rendered from them.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def open_session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns."""
    async with sessionmaker() as session, session.begin():
        yield session
