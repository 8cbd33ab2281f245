"""Backends of the service terminated from the database side, as a failover would.

Whatever a request was doing when its connection was ended, it answers 503
problem+json or succeeds, never 500, and the requests after it succeed.
"""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from app.core.errors import PROBLEM_MEDIA_TYPE
from app.core.settings import Settings
from app.main import create_app
from tests.factories import bearer
from tests.faults.load import Load
from tests.faults.verdict import judge
from tests.operations.helpers import client_for, commit_user_with_token, running
from tests.operations.live import LiveServer, live_server
from tests.operations.test_database_failures import terminate_service_backends
from tests.population import Population, commit_population

pytestmark = pytest.mark.slow

LIST = "/v2/support-tickets/"


async def test_reads_on_the_drivers_path_answer_503_when_their_backend_ends(
    fault_database: URL,
) -> None:
    # Found by the fault suite: the list and the token lookup run on asyncpg
    # directly, and a connection ended mid-operation raised asyncpg's
    # InternalClientError, which no handler knew: 500.
    token = await commit_user_with_token(fault_database, tickets=3)
    settings = Settings(
        database_url=fault_database.render_as_string(hide_password=False),
        database_pool_size=4,
        database_max_overflow=0,
        log_level="ERROR",
    )
    statuses: Counter[int] = Counter()
    kinds: set[str] = set()
    reading = True

    async with running(create_app(settings)) as app, client_for(app) as client:

        async def read_until_told() -> None:
            while reading:
                response = await client.get(LIST, headers=bearer(token))
                statuses[response.status_code] += 1
                if response.status_code != 200:
                    kinds.add(response.headers["content-type"])

        readers = [asyncio.create_task(read_until_told()) for _ in range(4)]
        for _ in range(20):
            await asyncio.sleep(0.1)
            await terminate_service_backends(fault_database)
        reading = False
        await asyncio.gather(*readers)
        after = [
            (await client.get(LIST, headers=bearer(token))).status_code
            for _ in range(8)
        ]

    assert set(statuses) <= {200, 503}, statuses
    assert kinds <= {"application/problem+json"}
    assert statuses[200] > 0
    assert after == [200] * 8


STATEMENT_TIMEOUT_MS = 2000
# Waiting for a pooled connection (2 s by default), connecting (2 s), then
# the statements; an ended backend fails its probe at once.
LONGEST_ANSWER = 2 + 2 + STATEMENT_TIMEOUT_MS / 1000 + 1


@pytest.fixture(scope="module")
async def population(fault_database: URL) -> Population:
    return await commit_population(fault_database)


@pytest.fixture
def server(population: Population, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(
        population.url,
        tmp_path / "server.log",
        LOG_LEVEL="WARNING",
        DATABASE_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
    ) as running:
        yield running


def _dsn(population: Population) -> str:
    return population.url.render_as_string(hide_password=False)


async def test_backends_ended_between_requests_are_replaced_unnoticed(
    population: Population, server: LiveServer
) -> None:
    headers = bearer(population.member_token)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
        warm = await asyncio.gather(
            *(client.get(LIST, headers=headers) for _ in range(6))
        )
        killed = await terminate_service_backends(population.url)
        after = await asyncio.gather(
            *(client.get(LIST, headers=headers) for _ in range(6))
        )

    assert {r.status_code for r in warm} == {200}
    assert killed >= 1
    assert {r.status_code for r in after} == {200}


async def test_a_backend_ended_inside_a_transaction_stores_nothing(
    population: Population, server: LiveServer
) -> None:
    ticket = population.member_ticket_ids[0]
    path = f"{LIST}{ticket}/comments/"
    headers = {**bearer(population.member_token), "Idempotency-Key": "inside-tx"}
    holder = await asyncpg.connect(_dsn(population))
    watcher = await asyncpg.connect(_dsn(population))
    try:
        sequence_before = await watcher.fetchval(
            "SELECT last_comment_sequence FROM support_tickets WHERE id = $1", ticket
        )
        # Hold the ticket's row, so that the request waits inside its
        # transaction (after authenticating) for the lock.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT 1 FROM support_tickets WHERE id = $1 FOR UPDATE", ticket
        )
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
            pending = asyncio.create_task(
                client.post(path, json={"content": "inside-tx"}, headers=headers)
            )
            waiting = await _service_backend_waiting_for_a_lock(watcher)
            await watcher.execute("SELECT pg_terminate_backend($1)", waiting)
            ended = await pending
            await transaction.rollback()

            stored = await watcher.fetchval(
                "SELECT count(*) FROM ticket_comments WHERE content = 'inside-tx'"
            )
            sequence_after = await watcher.fetchval(
                "SELECT last_comment_sequence FROM support_tickets WHERE id = $1",
                ticket,
            )
            retried = await client.post(
                path, json={"content": "inside-tx"}, headers=headers
            )
            stored_once = await watcher.fetchval(
                "SELECT count(*) FROM ticket_comments WHERE content = 'inside-tx'"
            )
    finally:
        await holder.close()
        await watcher.close()

    assert ended.status_code == 503
    assert ended.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert (stored, sequence_after) == (0, sequence_before)
    assert retried.status_code == 201
    assert retried.json()["sequence"] == sequence_before + 1
    assert stored_once == 1


async def _service_backend_waiting_for_a_lock(watcher: asyncpg.Connection) -> int:
    for _ in range(100):
        pid: int | None = await watcher.fetchval(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = 'support-tickets'"
            " AND datname = current_database() AND wait_event_type = 'Lock'"
        )
        if pid is not None:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited for the ticket's lock")


async def test_backends_ended_under_load_lose_no_answered_write(
    population: Population, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        load = Load(
            client,
            population.member_token,
            population.staff_token,
            population.fleet_id,
            list(population.member_ticket_ids),
            seed=2,
        )
        killed = 0
        async with load.running(clients=8):
            for _ in range(12):
                await asyncio.sleep(0.25)
                killed += await terminate_service_backends(population.url)
            await asyncio.sleep(1)
        verdict = await judge(load, population, LONGEST_ANSWER)

    assert killed >= 12
    assert server.process.poll() is None
    assert verdict.statuses <= {200, 201, 503}
    assert verdict.too_slow == []
    assert verdict.unavailable_not_problems == []
    assert verdict.answered_writes > 0
    assert verdict.retried_statuses <= {200, 201}
    assert verdict.copies == {1}
    assert verdict.partial == []
    assert verdict.wrong == []
