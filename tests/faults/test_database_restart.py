"""PostgreSQL restarted under load: answers stay quick and honest, no write lost.

The test runs its own PostgreSQL (initdb + pg_ctl on a loopback port) so
that it may stop and start it, and a real uvicorn in front. Clients open
tickets, comment and read throughout; the server is stopped (fast shutdown:
every session ended) and started again.
"""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.migrations import upgrade_to_head
from tests.faults.load import Load
from tests.faults.verdict import judge
from tests.operations.live import (
    LiveServer,
    PostgresProcess,
    live_server,
)
from tests.population import Population, commit_population

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT = 2.0
POOL_TIMEOUT = 2.0
STATEMENT_TIMEOUT_MS = 2000
# The longest a request may take: waiting for a pooled connection, then
# connecting, then its statements; plus a second for the rest of the work.
# A stopped server refuses or resets at once, so probes of pooled
# connections cost nothing here (a silent one is test_silent_database's).
LONGEST_ANSWER = POOL_TIMEOUT + CONNECT_TIMEOUT + STATEMENT_TIMEOUT_MS / 1000 + 1
CLIENTS = 8


@pytest.fixture(scope="module")
async def population(postgres: PostgresProcess) -> Population:
    await asyncio.to_thread(upgrade_to_head, postgres.url)
    return await commit_population(postgres.url)


@pytest.fixture
def server(population: Population, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(
        population.url,
        tmp_path / "server.log",
        LOG_LEVEL="WARNING",
        DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
        DATABASE_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
    ) as running:
        yield running


async def test_a_restart_under_load_answers_503_and_loses_no_answered_write(
    postgres: PostgresProcess, population: Population, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        load = Load(
            client,
            population.member_token,
            population.staff_token,
            population.fleet_id,
            list(population.member_ticket_ids),
        )
        async with load.running(clients=CLIENTS):
            await asyncio.sleep(1.5)
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(postgres.start)
            back_at = time.monotonic()
            await asyncio.sleep(3)
        verdict = await judge(load, population, LONGEST_ANSWER)

    recovered = [o for o in load.outcomes if o.started > back_at + 1]
    assert server.process.poll() is None  # no worker died
    assert 503 in verdict.statuses  # the outage was seen, and told
    assert verdict.statuses <= {200, 201, 503}
    assert verdict.too_slow == []
    assert verdict.unavailable_not_problems == []
    assert verdict.answered_writes >= CLIENTS
    assert recovered
    assert {o.status for o in recovered} <= {200, 201}
    # Every answered write is stored exactly once, retried ones included.
    assert verdict.retried_statuses <= {200, 201}
    assert verdict.copies == {1}
    assert verdict.partial == []
    assert verdict.wrong == []
