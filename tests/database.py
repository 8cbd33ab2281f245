"""The PostgreSQL server the tests run against, and a fresh database on it."""

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Base


@contextmanager
def server_url() -> Iterator[URL]:
    """TEST_DATABASE_URL when given, else a private embedded server."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield make_url(given)
        return

    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR on import.
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - only needed without TEST_DATABASE_URL

    data_dir = tempfile.mkdtemp(prefix="support-tickets-test-pg-")
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    try:
        yield make_url(server.get_uri())
    finally:
        server.cleanup()


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(server: URL) -> URL:
    """A new, empty database with a unique name, so runs never collide."""
    name = f"support_tickets_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.set(database=name)


async def drop_database(server: URL, database: URL) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await connection.execute(
            f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)'
        )
    finally:
        await connection.close()


def _declared_in_models(name: str | None, kind: str, *_: object) -> bool:
    # Trigram indexes exist only where pg_trgm does (migration 0002).
    return not (kind == "index" and name is not None and name.startswith("trgm_"))


def schema_drift(connection: Connection) -> list[object]:
    """What the database's schema has that the models lack, and the reverse."""
    context = MigrationContext.configure(
        connection, opts={"include_name": _declared_in_models}
    )
    return list(compare_metadata(context, Base.metadata))


async def remove_committed_rows(engine: AsyncEngine) -> None:
    """Empty every table a test that commits for real may have written.

    The list versions stay: they only ever grow, as in production.
    """
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "TRUNCATE fleets, users, support_tickets, ticket_counters,"
                " idempotency_records CASCADE"
            )
        )
