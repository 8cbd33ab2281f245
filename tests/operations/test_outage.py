"""PostgreSQL goes away under load and comes back: 503s fast, then recovery alone.

The test runs a PostgreSQL server of its own (initdb + pg_ctl on a loopback
port) so that it may stop and restart it, and a real uvicorn in front.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from app.core.migrations import upgrade_to_head
from tests.factories import bearer
from tests.operations.helpers import commit_user_with_token
from tests.operations.live import (
    LiveServer,
    PostgresProcess,
    live_server,
)

pytestmark = pytest.mark.slow

LIST = "/v2/support-tickets/"
CONNECT_TIMEOUT = 2.0
POOL_TIMEOUT = 2.0
RECOVERY_LIMIT = 5.0
CLIENTS = 6


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@pytest.fixture(scope="module")
async def service_database(postgres: PostgresProcess) -> tuple[URL, str]:
    await asyncio.to_thread(upgrade_to_head, postgres.url)
    token = await commit_user_with_token(postgres.url, tickets=2)
    return postgres.url, token


@pytest.fixture
def server(service_database: tuple[URL, str], tmp_path: Path) -> Iterator[LiveServer]:
    url, _ = service_database
    with live_server(
        url,
        tmp_path / "server.log",
        DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
    ) as running:
        yield running


class Load:
    """A few clients asking for the ticket list without pause, noting each answer."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token
        self.outcomes: list[Outcome] = []
        self._stop = asyncio.Event()

    async def _client_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            response = await self.client.get(LIST, headers=bearer(self.token))
            self.outcomes.append(
                Outcome(
                    started,
                    time.monotonic(),
                    response.status_code,
                    response.headers,
                    response.content,
                )
            )
            await asyncio.sleep(0.02)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The clients run inside the block, which starts once each was served."""
        tasks = [asyncio.create_task(self._client_loop()) for _ in range(CLIENTS)]
        try:
            async with asyncio.timeout(10):
                await self._until_successes(CLIENTS)
            yield
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)

    async def _until_successes(self, count: int) -> None:
        while True:
            if sum(o.status == 200 for o in self.outcomes) >= count:
                return
            await asyncio.sleep(0.05)


async def first_success_after(
    client: httpx.AsyncClient, token: str, since: float
) -> float:
    """Seconds from `since` until the ticket list answers 200 again."""
    while time.monotonic() - since < RECOVERY_LIMIT * 2:
        response = await client.get(LIST, headers=bearer(token))
        if response.status_code == 200:
            return time.monotonic() - since
        await asyncio.sleep(0.05)
    raise AssertionError("the service did not recover")


def assert_unavailable_problem(outcome: Outcome) -> None:
    assert outcome.status == 503, outcome.body
    assert outcome.headers["content-type"] == "application/problem+json"
    assert outcome.headers["Retry-After"] == "2"
    assert b'"status":503' in outcome.body


async def test_an_outage_fails_fast_and_the_service_recovers_by_itself(
    postgres: PostgresProcess, service_database: tuple[URL, str], server: LiveServer
) -> None:
    _, token = service_database

    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
        assert (await client.get(LIST, headers=bearer(token))).status_code == 200
        load = Load(client, token)
        async with load.running():
            await asyncio.to_thread(postgres.stop)
            stopped_at = time.monotonic()
            await asyncio.sleep(2)

            readiness_began = time.monotonic()
            readiness = await client.get("/readyz")
            readiness_seconds = time.monotonic() - readiness_began
            health = await client.get("/healthz")
            alive_during_outage = server.process.poll() is None

            restarting_at = time.monotonic()
            await asyncio.to_thread(postgres.start)
            back_at = time.monotonic()
            recovery_seconds = await first_success_after(client, token, back_at)
            recovered_at = back_at + recovery_seconds
            await asyncio.sleep(1.5)
        ready_again = await client.get("/readyz")

    outcomes = load.outcomes
    during = [
        o for o in outcomes if stopped_at < o.started and o.finished < restarting_at
    ]
    after = [o for o in outcomes if o.started > recovered_at]

    assert alive_during_outage
    assert server.process.poll() is None
    assert health.status_code == 200
    assert readiness.status_code == 503
    assert readiness.headers["content-type"] == "application/problem+json"
    assert readiness_seconds < 1.5
    # Only answers the contract allows, and never a server error.
    assert {o.status for o in outcomes} <= {200, 503}
    assert len(during) >= CLIENTS
    for outcome in during:
        assert_unavailable_problem(outcome)
    for outcome in (o for o in outcomes if o.status == 503):
        assert_unavailable_problem(outcome)
        assert outcome.seconds < CONNECT_TIMEOUT + POOL_TIMEOUT
    assert recovery_seconds < RECOVERY_LIMIT
    # Once back, no stale connection leaks an error to anyone.
    assert len(after) >= CLIENTS
    assert all(o.status == 200 for o in after)
    assert ready_again.status_code == 200


async def test_killed_backends_under_load_never_surface_as_server_errors(
    postgres: PostgresProcess, service_database: tuple[URL, str], server: LiveServer
) -> None:
    url, token = service_database
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )

    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
            load = Load(client, token)
            async with load.running():
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'support-tickets'"
                )
                killed_at = time.monotonic()
                await asyncio.sleep(1.5)
    finally:
        await admin.close()

    after = [o for o in load.outcomes if o.started > killed_at + 0.2]
    assert killed >= 1
    assert {o.status for o in load.outcomes} <= {200, 503}
    for outcome in (o for o in load.outcomes if o.status == 503):
        assert_unavailable_problem(outcome)
    assert len(after) >= CLIENTS
    assert all(o.status == 200 for o in after)
