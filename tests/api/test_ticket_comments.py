"""The comment endpoints of a ticket."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.enums import TicketStatus
from app.schemas.common import Page
from app.schemas.ticket import CommentRead
from tests.cast import make_cast

TICKETS = "/v2/support-tickets/"


def comments_url(ticket_id: int) -> str:
    return f"{TICKETS}{ticket_id}/comments/"


async def test_a_comment_is_numbered_and_shaped_as_in_the_ticket(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    before = await client.get(f"{TICKETS}{ticket.id}/", headers=cast.staff.headers)

    first = await client.post(
        comments_url(ticket.id),
        json={"content": "Photo attached."},
        headers=cast.creator.headers,
    )
    second = await client.post(
        comments_url(ticket.id),
        json={"content": "Looking."},
        headers=cast.staff.headers,
    )

    assert first.status_code == second.status_code == 201
    assert [first.json()["sequence"], second.json()["sequence"]] == [1, 2]
    assert first.json()["author"]["id"] == cast.creator.id
    assert first.headers["Location"].endswith(
        f"{comments_url(ticket.id)}{first.json()['id']}/"
    )
    after = await client.get(f"{TICKETS}{ticket.id}/", headers=cast.staff.headers)
    assert after.json()["comments"] == [first.json(), second.json()]
    assert after.json()["updated_at"] == second.json()["created_at"]
    assert after.headers["ETag"] != before.headers["ETag"]


async def test_the_comment_list_pages_like_the_ticket_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(
        session, comments=[(cast.creator.user, f"c{n}") for n in range(5)]
    )

    response = await client.get(
        comments_url(ticket.id),
        params={"limit": 2, "offset": 2},
        headers=cast.creator.headers,
    )

    page = Page[CommentRead].model_validate_json(response.content)
    assert response.status_code == 200
    assert page.count == 5
    assert [comment.sequence for comment in page.results] == [3, 4]
    assert (
        str(page.next) == f"http://testserver{comments_url(ticket.id)}?limit=2&offset=4"
    )
    assert str(page.previous) == f"http://testserver{comments_url(ticket.id)}?limit=2"


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}]
)
async def test_comment_list_paging_is_validated(
    client: httpx.AsyncClient, session: AsyncSession, params: dict[str, object]
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.get(
        comments_url(ticket.id), params=params, headers=cast.creator.headers
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": "x" * 10001}, "content"),
        ({"content": "zero\x00byte"}, "content"),
        ({"content": 5}, "content"),
        ({"content": None}, "content"),
        ({"content": "ok", "sequence": 1}, "sequence"),
        ({"content": "ok", "author": 1}, "author"),
    ],
)
async def test_invalid_comments_are_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    body: dict[str, object],
    field: str,
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    added = await client.post(
        comments_url(ticket.id), json=body, headers=cast.creator.headers
    )

    assert added.status_code == 422
    assert field in [problem["field"] for problem in added.json()["errors"]]


async def test_ten_thousand_characters_are_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.post(
        comments_url(ticket.id),
        json={"content": "\u00e9" * 10000},
        headers=cast.creator.headers,
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (TicketStatus.OPEN, 201),
        (TicketStatus.UNDER_REVIEW, 201),
        (TicketStatus.APPROVED, 201),
        (TicketStatus.DENIED, 201),
        (TicketStatus.CANCELLED, 409),
        (TicketStatus.RESOLVED, 409),
    ],
)
async def test_closed_tickets_take_no_new_comment(
    client: httpx.AsyncClient,
    session: AsyncSession,
    status: TicketStatus,
    expected: int,
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=status)

    response = await client.post(
        comments_url(ticket.id),
        json={"content": "Any news?"},
        headers=cast.colleague.headers,
    )

    assert response.status_code == expected


async def test_the_author_edits_a_comment_and_its_updated_at_moves(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    added = (
        await client.post(
            comments_url(ticket.id),
            json={"content": "Tpyo"},
            headers=cast.creator.headers,
        )
    ).json()

    response = await client.patch(
        f"{comments_url(ticket.id)}{added['id']}/",
        json={"content": "Typo"},
        headers=cast.creator.headers,
    )

    edited = response.json()
    assert response.status_code == 200
    assert edited["content"] == "Typo"
    assert (edited["id"], edited["sequence"], edited["created_at"]) == (
        added["id"],
        added["sequence"],
        added["created_at"],
    )
    assert edited["updated_at"] != added["updated_at"]
    ticket_now = await client.get(
        f"{TICKETS}{ticket.id}/", headers=cast.creator.headers
    )
    assert ticket_now.json()["comments"] == [edited]


@pytest.mark.parametrize("editor", ["colleague", "staff"])
async def test_only_the_author_may_edit_a_comment(
    client: httpx.AsyncClient, session: AsyncSession, editor: str
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, comments=[(cast.creator.user, "Mine")])
    comment_id = (
        await client.get(comments_url(ticket.id), headers=cast.creator.headers)
    ).json()["results"][0]["id"]
    person = cast.colleague if editor == "colleague" else cast.staff

    response = await client.patch(
        f"{comments_url(ticket.id)}{comment_id}/",
        json={"content": "Theirs"},
        headers=person.headers,
    )

    assert response.status_code == 403


@pytest.mark.parametrize("status", [TicketStatus.CANCELLED, TicketStatus.RESOLVED])
async def test_comments_of_closed_tickets_cannot_be_edited(
    client: httpx.AsyncClient, session: AsyncSession, status: TicketStatus
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(
        session, status=status, comments=[(cast.creator.user, "Old")]
    )
    comment_id = (
        await client.get(comments_url(ticket.id), headers=cast.creator.headers)
    ).json()["results"][0]["id"]

    response = await client.patch(
        f"{comments_url(ticket.id)}{comment_id}/",
        json={"content": "New"},
        headers=cast.creator.headers,
    )

    assert response.status_code == 409


async def test_a_comment_of_another_ticket_is_not_found_here(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    here = await cast.ticket(session)
    there = await cast.ticket(session, comments=[(cast.creator.user, "Elsewhere")])
    comment_id = (
        await client.get(comments_url(there.id), headers=cast.creator.headers)
    ).json()["results"][0]["id"]

    response = await client.patch(
        f"{comments_url(here.id)}{comment_id}/",
        json={"content": "Moved?"},
        headers=cast.creator.headers,
    )

    assert response.status_code == 404
