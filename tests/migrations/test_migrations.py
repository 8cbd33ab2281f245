"""The migrations: reversible on an empty database, and in step with the models."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.migrations import downgrade_to_base, upgrade_to_head
from app.models import Base
from tests.database import create_database, drop_database, schema_drift

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
async def empty_database(database_server: URL) -> AsyncIterator[URL]:
    url = await create_database(database_server)
    yield url
    await drop_database(database_server, url)


async def _schema(url: URL) -> tuple[set[str], set[str]]:
    """The tables and the functions in the public schema.

    Functions of extensions are left out: migration 0002 installs pg_trgm
    where it exists and leaves it on downgrade, for others may use it.
    """
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        functions = await connection.fetch(
            "SELECT proname FROM pg_proc JOIN pg_namespace AS n"
            " ON n.oid = pronamespace WHERE nspname = 'public'"
            " AND NOT EXISTS (SELECT FROM pg_depend AS d"
            " WHERE d.objid = pg_proc.oid AND d.deptype = 'e')"
        )
    finally:
        await connection.close()
    return {row[0] for row in tables}, {row[0] for row in functions}


async def test_upgrade_then_downgrade_then_upgrade_on_an_empty_database(
    empty_database: URL,
) -> None:
    await asyncio.to_thread(upgrade_to_head, empty_database)
    tables, functions = await _schema(empty_database)
    assert tables == MODEL_TABLES | {"alembic_version"}
    assert functions

    await asyncio.to_thread(downgrade_to_base, empty_database)
    assert await _schema(empty_database) == ({"alembic_version"}, set())

    await asyncio.to_thread(upgrade_to_head, empty_database)
    assert await _schema(empty_database) == (tables, functions)


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(schema_drift) == []
