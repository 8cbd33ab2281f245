"""Who sees which tickets on GET /v2/support-tickets/."""

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Fleet, SupportTicket
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"


@dataclass
class Tenants:
    north: Fleet
    south: Fleet
    north_tickets: list[SupportTicket]
    south_tickets: list[SupportTicket]
    tokens: dict[str, str]


@pytest.fixture
async def tenants(session: AsyncSession) -> Tenants:
    north = await make_fleet(session, "North")
    south = await make_fleet(session, "South")
    await make_fleet(session, "Empty")
    users = {
        "staff": await make_user(session, "staff", staff=True),
        "north_member": await make_user(session, "nora", fleets=[north]),
        "south_member": await make_user(session, "sam", fleets=[south]),
        "both_member": await make_user(session, "bea", fleets=[north, south]),
        "no_fleet": await make_user(session, "nobody"),
    }
    north_tickets = [
        await make_ticket(session, north, users["north_member"]) for _ in range(3)
    ]
    south_tickets = [
        await make_ticket(session, south, users["south_member"]) for _ in range(2)
    ]
    tokens = {role: await make_token(session, user) for role, user in users.items()}
    return Tenants(north, south, north_tickets, south_tickets, tokens)


async def _ids(client: httpx.AsyncClient, token: str, **params: object) -> set[int]:
    response = await client.get(LIST, params=params, headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    ids = {ticket["id"] for ticket in body["results"]}
    assert body["count"] == len(ids)
    return ids


def _id_set(tickets: list[SupportTicket]) -> set[int]:
    return {ticket.id for ticket in tickets}


async def test_staff_see_every_fleet(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    ids = await _ids(client, tenants.tokens["staff"])

    assert ids == _id_set(tenants.north_tickets + tenants.south_tickets)


async def test_a_member_sees_only_their_fleet(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    assert await _ids(client, tenants.tokens["north_member"]) == _id_set(
        tenants.north_tickets
    )
    assert await _ids(client, tenants.tokens["south_member"]) == _id_set(
        tenants.south_tickets
    )


async def test_a_member_of_two_fleets_sees_both(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    ids = await _ids(client, tenants.tokens["both_member"])

    assert ids == _id_set(tenants.north_tickets + tenants.south_tickets)


async def test_a_user_without_fleets_sees_nothing(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    assert await _ids(client, tenants.tokens["no_fleet"]) == set()


async def test_fleet_filter_narrows_to_one_visible_fleet(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    for role in ("staff", "both_member"):
        ids = await _ids(client, tenants.tokens[role], fleet=tenants.south.id)
        assert ids == _id_set(tenants.south_tickets)


async def test_another_tenants_fleet_is_an_empty_page_like_a_missing_one(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    token = tenants.tokens["north_member"]

    other = await client.get(
        LIST, params={"fleet": tenants.south.id}, headers=bearer(token)
    )
    missing = await client.get(LIST, params={"fleet": 987654321}, headers=bearer(token))

    assert other.status_code == missing.status_code == 200
    assert (
        other.json()
        == missing.json()
        == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
    )


async def test_filters_never_widen_the_scope(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    token = tenants.tokens["north_member"]
    south_id = str(tenants.south_tickets[0].id)

    assert await _ids(client, token, search=south_id) == set()
    assert await _ids(client, token, status="OPEN,CANCELLED") == _id_set(
        tenants.north_tickets
    )
