"""A slow, busy or unreachable database: a quick 503 problem, never a hang or 500."""

import asyncio
import socket
import time
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.api.deps import Session
from app.core.settings import Settings
from app.main import create_app
from tests.operations.helpers import client_for, running
from tests.operations.live import free_port

SLOW = "/test-only/database-sleep"


async def sleep_in_database(session: Session, seconds: float = 1.0) -> dict[str, str]:
    """A request that holds its connection in a statement for a while."""
    await session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
    return {"slept": str(seconds)}


DEADLOCKED = "/test-only/database-deadlock"


async def deadlock_in_database(session: Session) -> None:
    """A request whose transaction PostgreSQL ends as a deadlock's victim."""
    await session.execute(
        text(
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected',"
            " MESSAGE = 'deadlock detected'; END $$"
        )
    )


def app_with_slow_route(settings: Settings) -> FastAPI:
    # Mounted by the test only: the shipped app has no such routes.
    app = create_app(settings)
    app.add_api_route(SLOW, sleep_in_database)
    app.add_api_route(DEADLOCKED, deadlock_in_database)
    return app


def assert_unavailable(response: httpx.Response) -> str:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    problem = response.json()
    assert problem["type"] == "urn:support-tickets:problem:service-unavailable"
    assert problem["status"] == 503
    detail: str = problem["detail"]
    return detail


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections and never answers, like a host that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


async def test_a_statement_over_the_time_limit_is_a_503_naming_the_limit(
    real_engine_settings: Callable[..., Settings],
) -> None:
    settings = real_engine_settings(database_statement_timeout_ms=200)

    async with (
        running(app_with_slow_route(settings)) as app,
        client_for(app) as client,
    ):
        began = time.monotonic()
        response = await client.get(SLOW, params={"seconds": 5})
        elapsed = time.monotonic() - began
        after = await client.get(SLOW, params={"seconds": 0})

    assert "statement time limit" in assert_unavailable(response)
    assert elapsed < 1.5
    assert after.status_code == 200


async def test_a_deadlock_victim_is_a_503_to_retry(
    real_engine_settings: Callable[..., Settings],
) -> None:
    async with (
        running(app_with_slow_route(real_engine_settings())) as app,
        client_for(app) as client,
    ):
        response = await client.get(DEADLOCKED)

    assert "Retry shortly" in assert_unavailable(response)


async def test_waiting_too_long_for_a_pooled_connection_is_a_503(
    real_engine_settings: Callable[..., Settings],
) -> None:
    settings = real_engine_settings(
        database_pool_size=1, database_max_overflow=0, database_pool_timeout=0.3
    )

    async with (
        running(app_with_slow_route(settings)) as app,
        client_for(app) as client,
    ):
        # Opens the pool's only connection, so the holder takes it at once.
        assert (await client.get(SLOW, params={"seconds": 0})).status_code == 200
        holder = asyncio.create_task(client.get(SLOW, params={"seconds": 1.5}))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        waiter = await client.get(SLOW, params={"seconds": 0})
        elapsed = time.monotonic() - began
        held = await holder

    assert held.status_code == 200
    assert "connection is busy" in assert_unavailable(waiter)
    assert 0.25 < elapsed < 1.0


async def timed_request(settings: Settings) -> tuple[httpx.Response, float]:
    """One request needing the database, and the seconds it took."""
    async with (
        running(app_with_slow_route(settings)) as app,
        client_for(app) as client,
    ):
        began = time.monotonic()
        response = await client.get(SLOW, params={"seconds": 0})
        return response, time.monotonic() - began


async def test_a_refused_connection_is_a_503_at_once(
    real_engine_settings: Callable[..., Settings],
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"

    response, elapsed = await timed_request(real_engine_settings(database_url=closed))

    assert "cannot be reached" in assert_unavailable(response)
    assert elapsed < 0.5


async def test_a_database_that_never_answers_is_a_503_after_the_connect_timeout(
    real_engine_settings: Callable[..., Settings], silent_port: int
) -> None:
    settings = real_engine_settings(
        database_url=f"postgresql://postgres@127.0.0.1:{silent_port}/test",
        database_connect_timeout=0.5,
    )

    response, elapsed = await timed_request(settings)

    assert "cannot be reached" in assert_unavailable(response)
    assert 0.45 < elapsed < 1.2


async def test_a_connection_killed_between_requests_is_replaced_unnoticed(
    real_engine_settings: Callable[..., Settings], database_url: URL
) -> None:
    settings = real_engine_settings(database_pool_size=1, database_max_overflow=0)

    async with (
        running(app_with_slow_route(settings)) as app,
        client_for(app) as client,
    ):
        assert (await client.get(SLOW, params={"seconds": 0})).status_code == 200
        # Ends the pooled connection's server process, as a restart would.
        killed = await terminate_service_backends(database_url)
        response = await client.get(SLOW, params={"seconds": 0})

    assert killed == 1
    assert response.status_code == 200


async def terminate_service_backends(database_url: URL) -> int:
    connection = await asyncpg.connect(
        database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        killed: int = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'support-tickets' "
            "AND datname = current_database()"
        )
    finally:
        await connection.close()
    return killed


async def write_a_duplicate_checked_at_commit(session: Session) -> dict[str, str]:
    """A write whose error PostgreSQL reports only when the transaction commits."""
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE once (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
            "ON COMMIT DROP"
        )
    )
    await session.execute(text("INSERT INTO once VALUES (1), (1)"))
    return {"written": "yes"}


async def test_the_transaction_commits_before_the_answer_is_sent(
    real_engine_settings: Callable[..., Settings],
) -> None:
    app = create_app(real_engine_settings())
    # Mounted by the test only: the shipped app has no such route.
    app.add_api_route("/test-only/commit-fails", write_a_duplicate_checked_at_commit)

    async with running(app), client_for(app) as client:
        response = await client.get("/test-only/commit-fails")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
