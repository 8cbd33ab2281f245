"""A bounded soak: many clients at once, then an audit of what they left.

Members open tickets and comment, staff comment and move tickets through
their review, everyone reads; then every comment sequence must be gap-free,
every ticket's history must replay to its status, the counts the API
reports must equal the rows (ticket_counters too), and every write that was
answered must be stored once and whole.

`make soak` runs it for minutes (SOAK_SECONDS, SOAK_CLIENTS); the suite
runs a short one.
"""

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.factories import bearer
from tests.faults.load import TICKETS, Load
from tests.faults.verdict import judge
from tests.operations.live import LiveServer, live_server
from tests.population import Population, commit_population

pytestmark = pytest.mark.slow

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "12"))
SOAK_CLIENTS = int(os.environ.get("SOAK_CLIENTS", "12"))
OPENED_FIRST = 20
# No request under this load may take longer (none should come close).
LONGEST_ANSWER = 10.0
MIX = {"open": 1, "comment": 3, "move": 2, "list": 3, "history": 1}


@pytest.fixture(scope="module")
async def population(fault_database: URL) -> Population:
    return await commit_population(fault_database)


@pytest.fixture
def server(population: Population, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(population.url, tmp_path / "server.log", LOG_LEVEL="WARNING") as s:
        yield s


async def test_a_soak_leaves_every_ticket_consistent(
    population: Population, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        # Tickets opened through the API, so that each has its whole history.
        opened = []
        for number in range(OPENED_FIRST):
            response = await client.post(
                TICKETS,
                json={
                    "fleet": population.fleet_id,
                    "reason": "OTHER",
                    "description": f"Soak ticket {number}.",
                    "entities": [{"entity_type": "soak", "entity_id": number + 1}],
                },
                headers=bearer(population.member_token),
            )
            assert response.status_code == 201, response.text
            opened.append(response.json()["id"])

        load = Load(
            client,
            population.member_token,
            population.staff_token,
            population.fleet_id,
            opened,
            seed=3,
            mix=MIX,
        )
        async with load.running(clients=SOAK_CLIENTS):
            await asyncio.sleep(SOAK_SECONDS)
        verdict = await judge(load, population, LONGEST_ANSWER)

    by_status = Counter((o.operation, o.status) for o in load.outcomes)
    assert server.process.poll() is None
    # Writes to a closed ticket, and moves its status does not allow, are
    # the 409s; nothing else but success.
    assert verdict.statuses <= {200, 201, 409}, by_status
    assert by_status[("open", 201)] > 0
    assert by_status[("comment", 201)] > 0
    assert by_status[("move", 200)] > 0
    assert verdict.too_slow == []
    assert verdict.copies == {1}
    assert verdict.partial == []
    assert verdict.wrong == []
