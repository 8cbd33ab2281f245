"""SIGTERM: stop accepting, finish what is in flight, close the pool, exit 0."""

import asyncio
import signal
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from tests.factories import bearer
from tests.operations.helpers import DemoDatabase, commit_user_with_token
from tests.operations.live import live_server

pytestmark = pytest.mark.slow


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def wait_for_lock_waiter(observer: asyncpg.Connection) -> None:
    """Until a backend of the service waits on a row lock: the request is in flight."""
    while True:
        waiting = await observer.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'support-tickets' AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)


async def test_sigterm_lets_the_request_in_flight_finish_and_exits_zero(
    demo_database: DemoDatabase, tmp_path: Path
) -> None:
    # Editing a ticket waits for its row lock, which this test holds: that
    # is the slow request.
    token = await commit_user_with_token(demo_database.url, tickets=1)
    locker = await asyncpg.connect(asyncpg_dsn(demo_database.url))
    observer = await asyncpg.connect(asyncpg_dsn(demo_database.url))

    try:
        with live_server(
            demo_database.url, tmp_path / "server.log", SHUTDOWN_GRACE_SECONDS="10"
        ) as server:
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=20
            ) as client:
                listed = await client.get("/v2/support-tickets/", headers=bearer(token))
                ticket_id = listed.json()["results"][0]["id"]
                lock = locker.transaction()
                await lock.start()
                await locker.execute(
                    "SELECT 1 FROM support_tickets WHERE id = $1 FOR UPDATE", ticket_id
                )
                in_flight = asyncio.create_task(
                    client.patch(
                        f"/v2/support-tickets/{ticket_id}/",
                        json={"description": "Edited while stopping"},
                        headers=bearer(token),
                    )
                )
                async with asyncio.timeout(5):
                    await wait_for_lock_waiter(observer)

                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                still_running = server.process.poll() is None
                with pytest.raises(httpx.ConnectError):
                    await httpx.AsyncClient().get(server.base_url + "/healthz")

                await lock.rollback()
                response = await in_flight

            exit_code = await asyncio.to_thread(server.process.wait, 15)
            log = server.log_text()
    finally:
        await locker.close()
        await observer.close()

    assert still_running
    assert response.status_code == 200
    assert exit_code == 0
    assert '"event": "app.stopped"' in log
