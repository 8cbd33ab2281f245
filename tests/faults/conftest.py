"""Fixtures for the fault suites: databases whose rows are committed for real."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import URL

from app.core.migrations import upgrade_to_head
from tests.database import create_database, drop_database


@pytest.fixture(scope="module")
async def fault_database(database_server: URL) -> AsyncIterator[URL]:
    """A migrated database of the module's own: its writes commit, and stay
    out of the rolled-back tests' way."""
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await drop_database(database_server, url)
