"""The async engine and the per-request session."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_

from app.core.settings import Settings


def _discard_broken_connections(context: ExceptionContext) -> None:
    """Treats a connection left mid-operation as lost, so the pool drops it.

    When the server ends a session while asyncpg is between the steps of an
    operation, asyncpg reports the next use as a client error ("another
    operation is in progress") rather than a closed connection. SQLAlchemy
    would keep such a connection in the pool, and every request drawing it,
    pre-ping included, would fail until the process restarts.
    """
    broken = context.dialect.loaded_dbapi.InternalClientError
    if isinstance(context.original_exception, broken):
        context.is_disconnect = True


# The driver's own limit on each operation is this much over the server's
# statement_timeout: a database that stops answering (a frozen host, a
# partition) cancels nothing, and a request would otherwise wait for TCP to
# notice, minutes later. A slow statement still meets the server's limit
# first, with its clearer error; the driver's is a TimeoutError, an OSError,
# answered like an unreachable database (app/core/errors.py).
COMMAND_TIMEOUT_GRACE_SECONDS = 1.0


def _ping_on_checkout(
    timeout: float,
) -> Callable[[Any, ConnectionPoolEntry, PoolProxiedConnection], None]:
    """Check a pooled connection before a request uses it; replace it if dead.

    SQLAlchemy's own pre-ping wraps its probe in BEGIN and ROLLBACK (for
    pgbouncer's sake): three round trips on every request. One statement
    outside a transaction tells as much. Raising DisconnectionError makes the pool
    discard the connection and hand out a fresh one (up to three tries).

    A live server answers at once; the probe waits no longer than a new
    connection may take (`timeout`), not a whole command timeout, since the
    pool may probe three connections of a database that stopped answering
    before it gives up.
    """

    def ping(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        try:
            await_(
                dbapi_connection.driver_connection.execute("SELECT 1", timeout=timeout)
            )
        except Exception as error:
            raise DisconnectionError("the pooled connection is gone") from error

    return ping


def create_engine(settings: Settings, *, bulk: bool = False) -> AsyncEngine:
    """An engine whose every connection carries the service's time limits.

    `bulk` is for an operator's long maintenance work (`seed` of a million
    tickets runs single statements for minutes): the driver then waits as
    long as the server works, and the work lifts the server's
    statement_timeout itself (SET LOCAL) where it needs to.
    """
    command_timeout = (
        None
        if bulk
        else settings.database_statement_timeout_ms / 1000
        + COMMAND_TIMEOUT_GRACE_SECONDS
    )
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        # Errors would otherwise print bound values (search words, token
        # hashes) into the logs.
        hide_parameters=True,
        connect_args={
            "timeout": settings.database_connect_timeout,
            "command_timeout": command_timeout,
            "server_settings": {
                "application_name": settings.database_application_name,
                "statement_timeout": str(settings.database_statement_timeout_ms),
                "TimeZone": "UTC",
            },
        },
    )
    event.listen(engine.sync_engine, "handle_error", _discard_broken_connections)
    # A connection the server dropped (restart, failover) is replaced before
    # use instead of failing the request that drew it.
    event.listen(
        engine.sync_engine.pool,
        "checkout",
        _ping_on_checkout(settings.database_connect_timeout),
    )
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: responses are rendered from them.
    return async_sessionmaker(engine, expire_on_commit=False)


class ConnectionWaits:
    """How many sessions are waiting for a pooled connection right now.

    SQLAlchemy's pool does not expose its queue of waiters, so each session
    counts itself while it draws its connection; /metrics reads the count.
    """

    def __init__(self) -> None:
        self.current = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self.current += 1
        try:
            yield
        finally:
            self.current -= 1


@asynccontextmanager
async def open_session(
    sessionmaker: async_sessionmaker[AsyncSession], waits: ConnectionWaits
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns.

    A context manager, so that an error raised in the request reaches the
    transaction and rolls it back at once (an abandoned generator would be
    closed later, by the garbage collector, holding its connection).

    The connection is drawn up front, so that waiting for it is counted and
    an unreachable database fails the request before any work is done.
    """
    async with sessionmaker() as session, session.begin():
        with waits.waiting():
            await session.connection()
        yield session
