"""Tenant isolation of every ticket endpoint, and which error wins."""

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.enums import TicketStatus
from tests.cast import make_cast, make_person

TICKETS = "/v2/support-tickets/"
MISSING = 987654321

Call = Callable[
    [httpx.AsyncClient, int, int, dict[str, str]], Awaitable[httpx.Response]
]


def _without_request_id(headers: httpx.Headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "x-request-id"}


async def read_ticket(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.get(f"{TICKETS}{ticket}/", headers=headers)


async def edit_ticket(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.patch(
        f"{TICKETS}{ticket}/", json={"reason": "OTHER"}, headers=headers
    )


async def add_comment(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"{TICKETS}{ticket}/comments/", json={"content": "Hi"}, headers=headers
    )


async def list_comments(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.get(f"{TICKETS}{ticket}/comments/", headers=headers)


async def edit_comment(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.patch(
        f"{TICKETS}{ticket}/comments/{comment}/",
        json={"content": "Hey"},
        headers=headers,
    )


async def move_ticket(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"{TICKETS}{ticket}/transitions/", json={"to": "CANCELLED"}, headers=headers
    )


async def list_events(
    client: httpx.AsyncClient, ticket: int, comment: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.get(f"{TICKETS}{ticket}/events/", headers=headers)


ENDPOINTS = [
    read_ticket,
    edit_ticket,
    add_comment,
    list_comments,
    edit_comment,
    move_ticket,
    list_events,
]


@pytest.mark.parametrize("call", ENDPOINTS)
async def test_another_fleets_ticket_is_indistinguishable_from_a_missing_one(
    client: httpx.AsyncClient, session: AsyncSession, call: Call
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, comments=[(cast.outsider.user, "Planted")])
    # The outsider wrote that comment, so only visibility can refuse the edit.
    comment_id = (await list_comments(client, ticket.id, 0, cast.staff.headers)).json()[
        "results"
    ][0]["id"]
    before = await read_ticket(client, ticket.id, 0, cast.staff.headers)

    foreign = await call(client, ticket.id, comment_id, cast.outsider.headers)
    missing = await call(client, MISSING, comment_id, cast.outsider.headers)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    # Every header alike but the request id, which is new for each request.
    assert _without_request_id(foreign.headers) == _without_request_id(missing.headers)
    after = await read_ticket(client, ticket.id, 0, cast.staff.headers)
    assert after.content == before.content


@pytest.mark.parametrize("call", ENDPOINTS)
async def test_staff_reach_every_fleets_ticket(
    client: httpx.AsyncClient, session: AsyncSession, call: Call
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, comments=[(cast.staff.user, "Staff note")])
    comment_id = (await list_comments(client, ticket.id, 0, cast.staff.headers)).json()[
        "results"
    ][0]["id"]

    response = await call(client, ticket.id, comment_id, cast.staff.headers)

    assert response.status_code in (200, 201)


@pytest.mark.parametrize("call", ENDPOINTS)
async def test_every_endpoint_needs_a_token(
    client: httpx.AsyncClient, session: AsyncSession, call: Call
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await call(client, ticket.id, 1, {})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_member_of_both_fleets_reaches_both(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    both = await make_person(session, fleets=(cast.fleet, cast.other_fleet))
    mine = await cast.ticket(session)
    theirs = await cast.ticket(session)
    theirs.fleet_id = cast.other_fleet.id
    await session.flush()

    for ticket_id in (mine.id, theirs.id):
        assert (
            await read_ticket(client, ticket_id, 0, both.headers)
        ).status_code == 200


JSON = {"Content-Type": "application/json"}


async def test_401_comes_before_404_and_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        f"{TICKETS}{MISSING}/transitions/", content=b"{not json", headers=JSON
    )

    assert response.status_code == 401


@pytest.mark.parametrize("content", [b"{not json", b'{"to": "NOWHERE"}', b"[]"])
async def test_404_comes_before_422(
    client: httpx.AsyncClient, session: AsyncSession, content: bytes
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.post(
        f"{TICKETS}{ticket.id}/transitions/",
        content=content,
        headers={**cast.outsider.headers, **JSON},
    )

    assert response.status_code == 404


async def test_422_comes_before_403(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=TicketStatus.UNDER_REVIEW)

    malformed_edit = await client.patch(
        f"{TICKETS}{ticket.id}/",
        json={"description": ""},
        headers=cast.colleague.headers,
    )
    approval_without_note = await client.post(
        f"{TICKETS}{ticket.id}/transitions/",
        json={"to": "APPROVED"},
        headers=cast.creator.headers,
    )

    assert malformed_edit.status_code == 422
    assert approval_without_note.status_code == 422


async def test_403_comes_before_412_and_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=TicketStatus.RESOLVED)
    stale = {"If-Match": '"stale"'}

    edit = await client.patch(
        f"{TICKETS}{ticket.id}/",
        json={"description": "x"},
        headers={**cast.colleague.headers, **stale},
    )
    move = await client.post(
        f"{TICKETS}{ticket.id}/transitions/",
        json={"to": "UNDER_REVIEW"},
        headers={**cast.creator.headers, **stale},
    )

    assert edit.status_code == 403
    assert move.status_code == 403


async def test_412_comes_before_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=TicketStatus.RESOLVED)
    stale = {**cast.staff.headers, "If-Match": '"stale"'}

    edit = await client.patch(
        f"{TICKETS}{ticket.id}/", json={"reason": "OTHER"}, headers=stale
    )
    move = await client.post(
        f"{TICKETS}{ticket.id}/transitions/", json={"to": "OPEN"}, headers=stale
    )

    assert edit.status_code == 412
    assert move.status_code == 412


async def test_a_stale_transition_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    before = await read_ticket(client, ticket.id, 0, cast.staff.headers)

    response = await client.post(
        f"{TICKETS}{ticket.id}/transitions/",
        json={"to": "UNDER_REVIEW"},
        headers={**cast.staff.headers, "If-Match": '"0123"'},
    )

    assert response.status_code == 412
    after = await read_ticket(client, ticket.id, 0, cast.staff.headers)
    assert after.content == before.content
    events = await list_events(client, ticket.id, 0, cast.staff.headers)
    assert events.json()["count"] == 0


async def test_a_current_if_match_lets_a_transition_through(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    etag = (await read_ticket(client, ticket.id, 0, cast.staff.headers)).headers["ETag"]

    response = await client.post(
        f"{TICKETS}{ticket.id}/transitions/",
        json={"to": "UNDER_REVIEW"},
        headers={**cast.staff.headers, "If-Match": etag},
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag


async def test_a_missing_comment_is_404_before_its_body_is_judged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.patch(
        f"{TICKETS}{ticket.id}/comments/{MISSING}/",
        json={"content": ""},
        headers=cast.creator.headers,
    )

    assert response.status_code == 404
