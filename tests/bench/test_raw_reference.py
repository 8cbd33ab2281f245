"""The bench's raw reference answers the bench's requests as the service does.

Every ratio in bench/results compares the service with bench/raw_reference.py;
the comparison is fair only if both return the same tickets, counts and links
for the same request. The raw reference reads through its own pool, so the
data here is committed (and removed afterwards) instead of rolled back.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.settings import Settings
from app.main import create_app
from app.models.enums import TicketReason, TicketStatus
from bench.raw_reference import RawReference
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"
SEEDED_TABLES = "fleets, users, api_tokens, support_tickets, ticket_counters"


@dataclass(frozen=True)
class Committed:
    staff_token: str
    fleet_token: str
    fleet_id: int
    ticket_ids: list[int]


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        north, south = await make_fleet(session), await make_fleet(session)
        staff = await make_user(session, "agent_kim", staff=True)
        jane = await make_user(session, "fleetops_jane", fleets=[north])
        bob = await make_user(session, "carrier_bob", fleets=[south])
        ids = []
        for number in range(12):
            closed = number % 3 == 0
            ticket = await make_ticket(
                session,
                north if number % 2 else south,
                jane if number % 2 else bob,
                status=list(TicketStatus)[number % 6],
                reason=list(TicketReason)[number % 4],
                description=f"toll {'bridge' if number % 4 else 'tunnel'} {number}",
                resolution_note="refund issued" if closed else "",
                resolved_by=staff if closed else None,
                # Half the timestamps carry microseconds, half do not.
                resolved_at=start + timedelta(days=number, microseconds=number % 2)
                if closed
                else None,
                created_at=start + timedelta(hours=number // 2, microseconds=number),
                updated_at=start + timedelta(days=12 - number),
                entities=[("toll_charge", 900 + number), ("invoice", 70 + number)],
                comments=[(staff, "camera shows the plate")] * (number % 3),
            )
            ids.append(ticket.id)
        staff_token = await make_token(session, staff)
        fleet_token = await make_token(session, jane)
        await session.commit()

    yield Committed(staff_token, fleet_token, north.id, ids)

    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {SEEDED_TABLES} CASCADE"))


@pytest.fixture
async def service(database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url.render_as_string(hide_password=False),
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://h"
        ) as client:
            yield client


@pytest.fixture
async def raw(database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    reference = RawReference(
        database_url.render_as_string(hide_password=False), pool_size=2
    )
    await reference.startup()
    try:
        transport = httpx.ASGITransport(app=reference)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://h"
        ) as client:
            yield client
    finally:
        await reference.shutdown()


QUERIES = [
    "",
    "limit=5",
    "limit=5&offset=5",
    "limit=4&offset=2&ordering=-updated_at",
    "ordering=created_at&reason=WRONG_VEHICLE",
    "status=OPEN,DENIED&limit=3",
    "ordering=resolved_at&limit=7",
    "ordering=-resolved_at,status",
    "ordering=status,-reason&limit=1000",
    "search=bridge&limit=2",
    "search=camera",
    "search=jane",
    "search=tolls",
    "offset=100",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("caller", ["staff", "fleet user"])
async def test_raw_reference_answers_as_the_service_does(
    committed: Committed,
    service: httpx.AsyncClient,
    raw: httpx.AsyncClient,
    caller: str,
    query: str,
) -> None:
    token = committed.staff_token if caller == "staff" else committed.fleet_token
    url = f"{LIST}?{query}"

    expected = await service.get(url, headers=bearer(token))
    answered = await raw.get(url, headers=bearer(token))

    assert expected.status_code == 200
    assert answered.status_code == 200
    assert answered.json() == expected.json()


@pytest.mark.parametrize(
    "query", ["fleet={fleet}&status=DENIED,OPEN", "search={ticket}"]
)
async def test_raw_reference_filters_by_fleet_and_matches_ids(
    committed: Committed,
    service: httpx.AsyncClient,
    raw: httpx.AsyncClient,
    query: str,
) -> None:
    url = f"{LIST}?" + query.format(
        fleet=committed.fleet_id, ticket=committed.ticket_ids[3]
    )

    expected = await service.get(url, headers=bearer(committed.staff_token))
    answered = await raw.get(url, headers=bearer(committed.staff_token))

    assert expected.json()["count"] >= 1
    assert answered.json() == expected.json()


async def test_raw_reference_refuses_an_unknown_token(
    committed: Committed, raw: httpx.AsyncClient
) -> None:
    response = await raw.get(LIST, headers=bearer(committed.staff_token + "x"))

    assert response.status_code == 401
