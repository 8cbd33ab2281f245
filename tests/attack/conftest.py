"""A real server on a database of the suite's own, seeded with committed rows."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.engine import URL

from app.core.migrations import upgrade_to_head
from tests.database import create_database, drop_database
from tests.operations.live import LiveServer, live_server
from tests.population import Population, Tokens, commit_population

# Chosen before the database exists: the generated-requests suite configures
# its authentication when it is collected.
ATTACK_TOKENS = Tokens()


@pytest.fixture(scope="session")
async def attack_population(database_server: URL) -> AsyncIterator[Population]:
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield await commit_population(url, tokens=ATTACK_TOKENS)
    await drop_database(database_server, url)


@pytest.fixture(scope="session")
def attack_server(
    attack_population: Population, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """uvicorn in a process of its own: one event loop for the whole run."""
    log_path = tmp_path_factory.mktemp("attack-server") / "server.log"
    with live_server(attack_population.url, log_path, LOG_LEVEL="WARNING") as server:
        yield server
