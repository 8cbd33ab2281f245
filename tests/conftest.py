"""Fixtures: one migrated database per run, one rolled-back transaction per test."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.migrations import upgrade_to_head
from app.core.settings import Settings
from app.main import create_app
from tests.database import create_database, drop_database, server_url
from tests.operations.live import (
    PostgresProcess,
    postgres_binaries,
    postgres_os_user,
)


@pytest.fixture(scope="session")
def database_server() -> Iterator[URL]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
async def database_url(database_server: URL) -> AsyncIterator[URL]:
    """A fresh database, built by running the migrations (not create_all)."""
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await drop_database(database_server, url)


@pytest.fixture(scope="session")
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url.set(drivername="postgresql+asyncpg"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Each commit in the code under test releases a savepoint of the test's
    # transaction, so the code commits as in production and nothing remains.
    return async_sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return Settings(
        database_url=database_url.render_as_string(hide_password=False),
        log_level="WARNING",
    )


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresProcess]:
    """A PostgreSQL server of the module's own, for tests that stop it."""
    binaries, os_user = postgres_binaries(), postgres_os_user()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os_user is None:
        pytest.skip("running as root and no 'postgres' account to run the server")
    server = PostgresProcess(*binaries, os_user=os_user)
    try:
        server.start()
        yield server
    finally:
        server.remove()
