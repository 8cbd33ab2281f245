"""A database that stops answering without closing its connections.

A proxy between the service and PostgreSQL holds every byte: statements
sent are never answered, new connections never complete. Requests must
fail with 503 within the configured time limits instead of hanging, and
the service must recover by itself once traffic flows again.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from app.core.database import create_engine
from app.core.errors import PROBLEM_MEDIA_TYPE
from app.core.settings import Settings
from tests.factories import bearer
from tests.faults.tcp_proxy import HoldingProxy, opener_for
from tests.operations.live import LiveServer, live_server
from tests.population import Population, commit_population

pytestmark = pytest.mark.slow

LIST = "/v2/support-tickets/"
CONNECT_TIMEOUT = 1.0
POOL_TIMEOUT = 1.0
STATEMENT_TIMEOUT_MS = 1000
# The longest a request may take: waiting for a pooled connection, the pool
# probing up to three connections (each probe waits the connect timeout),
# opening a new one, then a statement until the driver's command timeout
# (a second over the statement timeout).
LONGEST_ANSWER = (
    POOL_TIMEOUT
    + 3 * CONNECT_TIMEOUT
    + CONNECT_TIMEOUT
    + STATEMENT_TIMEOUT_MS / 1000
    + 1
)
RECOVERY_LIMIT = 5.0


@pytest.fixture(scope="module")
async def population(fault_database: URL) -> Population:
    return await commit_population(fault_database)


@pytest.fixture
async def proxy(population: Population) -> AsyncIterator[HoldingProxy]:
    proxy = HoldingProxy(opener_for(population.url))
    await proxy.start()
    yield proxy
    proxy.release()
    await proxy.close()


def _through(population: Population, proxy: HoldingProxy) -> URL:
    return URL.create(
        "postgresql",
        username=population.url.username,
        password=population.url.password,
        host="127.0.0.1",
        port=proxy.port,
        database=population.url.database,
    )


@pytest.fixture
async def server(
    population: Population, proxy: HoldingProxy, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    through_proxy = _through(population, proxy)
    serving = live_server(
        through_proxy,
        tmp_path / "server.log",
        LOG_LEVEL="WARNING",
        DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
        DATABASE_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
    )
    # Started and stopped in a thread: the proxy runs on this event loop,
    # and the server's connections pass through it until the very end.
    running = await asyncio.to_thread(serving.__enter__)
    yield running
    await asyncio.to_thread(serving.__exit__, None, None, None)


async def _timed(
    request: Awaitable[httpx.Response],
) -> tuple[float, httpx.Response]:
    began = time.monotonic()
    response = await request
    return time.monotonic() - began, response


async def test_requests_fail_in_time_while_the_database_is_silent_then_recover(
    population: Population, proxy: HoldingProxy, server: LiveServer
) -> None:
    # Found by this test: with only the server's statement_timeout, a
    # request to a silent database waited until the client gave up.
    member = bearer(population.member_token)
    ticket = population.member_ticket_ids[0]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        warm = await asyncio.gather(
            *(client.get(LIST, headers=member) for _ in range(4))
        )

        proxy.hold()
        during = await asyncio.gather(
            *(_timed(client.get(LIST, headers=member)) for _ in range(4)),
            *(
                _timed(
                    client.post(
                        f"{LIST}{ticket}/comments/",
                        json={"content": f"silent-{n}"},
                        headers=member,
                    )
                )
                for n in range(2)
            ),
        )
        alive_during = server.process.poll() is None
        proxy.release()

        released_at = time.monotonic()
        while True:
            response = await client.get(LIST, headers=member)
            if response.status_code == 200 or time.monotonic() - released_at > 30:
                break
            await asyncio.sleep(0.1)
        recovery = time.monotonic() - released_at
        after = await asyncio.gather(
            *(client.get(LIST, headers=member) for _ in range(6))
        )
        comment = await client.post(
            f"{LIST}{ticket}/comments/", json={"content": "after"}, headers=member
        )

    assert {r.status_code for r in warm} == {200}
    assert alive_during
    for seconds, answer in during:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert seconds < LONGEST_ANSWER
    assert recovery < RECOVERY_LIMIT
    assert {r.status_code for r in after} == {200}
    assert comment.status_code == 201


async def test_a_pooled_connection_to_a_silent_database_is_given_up_quickly(
    population: Population, proxy: HoldingProxy
) -> None:
    # Found by the test above: the pool's probe of a pooled connection
    # waited a whole command timeout, and the pool probes up to three.
    settings = Settings(
        database_url=_through(population, proxy).render_as_string(hide_password=False),
        database_pool_size=1,
        database_max_overflow=0,
        database_connect_timeout=CONNECT_TIMEOUT,
        database_statement_timeout_ms=10_000,
    )
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        proxy.hold()
        began = time.monotonic()
        with pytest.raises((DBAPIError, OSError)):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        elapsed = time.monotonic() - began
    finally:
        proxy.release()
        await engine.dispose()

    # Probes and a new connection, each within the connect timeout; far
    # under the 11 s of one command timeout.
    assert elapsed < 4 * CONNECT_TIMEOUT + 1
