"""Writes to one fleet's tickets while a scenario runs, at a steady rate.

Each write is `UPDATE support_tickets SET description = description` on one
of the fleet's tickets, committed on its own: the triggers re-render the
ticket and raise the fleet's list version as any edit would, so every kept
list answer of the fleet goes stale, yet the data stays the seeded data for
the next run.
"""

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL

from bench.database import BenchError, dsn

TICKETS_TOUCHED = 50


@dataclass
class Writes:
    committed: int = 0


async def _write(
    connection: asyncpg.Connection, ticket_ids: list[int], rate: float, done: Writes
) -> None:
    period = 1 / rate
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    for ticket_id in itertools.cycle(ticket_ids):
        await connection.execute(
            "UPDATE support_tickets SET description = description WHERE id = $1",
            ticket_id,
        )
        done.committed += 1
        next_at += period
        await asyncio.sleep(max(next_at - loop.time(), 0))


@contextlib.asynccontextmanager
async def writing(url: URL, fleet_id: int, rate: float) -> AsyncIterator[Writes]:
    """Commit `rate` writes a second to the fleet's tickets until the block ends."""
    done = Writes()
    connection = await asyncpg.connect(
        dsn(url), server_settings={"application_name": "bench-writer"}
    )
    try:
        rows = await connection.fetch(
            "SELECT id FROM support_tickets WHERE fleet_id = $1 ORDER BY id LIMIT $2",
            fleet_id,
            TICKETS_TOUCHED,
        )
        if not rows:
            raise BenchError(f"fleet {fleet_id} has no tickets to write to")
        task = asyncio.create_task(
            _write(connection, [row["id"] for row in rows], rate, done)
        )
        try:
            yield done
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await connection.close()
