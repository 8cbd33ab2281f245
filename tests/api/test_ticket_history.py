"""GET /v2/support-tickets/{id}/events/: the history tells what happened."""

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import TicketEvent
from app.schemas.common import Page
from app.schemas.event import EventRead
from tests.cast import make_cast

TICKETS = "/v2/support-tickets/"


async def test_a_full_life_cycle_is_told_oldest_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    creator, staff = cast.creator.headers, cast.staff.headers
    opened = await client.post(
        TICKETS,
        json={
            "fleet": cast.fleet.id,
            "reason": "INCORRECT_AMOUNT",
            "description": "Charged the truck rate for a car.",
            "entities": [{"entity_type": "toll_charge", "entity_id": 31337}],
        },
        headers=creator,
    )
    ticket = f"{TICKETS}{opened.json()['id']}/"
    comment = await client.post(
        f"{ticket}comments/", json={"content": "Receipt?"}, headers=staff
    )
    comment_id = comment.json()["id"]
    steps = [
        client.patch(ticket, json={"description": "Car, class 1."}, headers=creator),
        client.post(
            f"{ticket}transitions/", json={"to": "UNDER_REVIEW"}, headers=staff
        ),
        client.post(f"{ticket}transitions/", json={"to": "OPEN"}, headers=staff),
        client.patch(
            f"{ticket}comments/{comment_id}/",
            json={"content": "Receipt, please."},
            headers=staff,
        ),
        client.patch(
            ticket, json={"reason": "OTHER", "description": "Both."}, headers=creator
        ),
        client.post(
            f"{ticket}transitions/", json={"to": "UNDER_REVIEW"}, headers=staff
        ),
        client.post(
            f"{ticket}transitions/",
            json={"to": "APPROVED", "resolution_note": "Refund 4.20"},
            headers=staff,
        ),
        client.post(f"{ticket}transitions/", json={"to": "RESOLVED"}, headers=staff),
    ]
    for step in steps:
        assert (await step).status_code == 200

    response = await client.get(f"{ticket}events/", headers=creator)

    page = Page[EventRead].model_validate_json(response.content)
    told = [
        (
            event.kind,
            event.actor.id,
            event.from_status,
            event.to_status,
            event.note,
            event.fields,
            event.comment_id,
        )
        for event in page.results
    ]
    c, s = cast.creator.id, cast.staff.id
    assert told == [
        ("opened", c, None, None, None, None, None),
        ("commented", s, None, None, None, None, comment_id),
        ("edited", c, None, None, None, ["description"], None),
        ("status_changed", s, "OPEN", "UNDER_REVIEW", None, None, None),
        ("status_changed", s, "UNDER_REVIEW", "OPEN", None, None, None),
        ("comment_edited", s, None, None, None, None, comment_id),
        ("edited", c, None, None, None, ["description", "reason"], None),
        ("status_changed", s, "OPEN", "UNDER_REVIEW", None, None, None),
        ("status_changed", s, "UNDER_REVIEW", "APPROVED", "Refund 4.20", None, None),
        ("status_changed", s, "APPROVED", "RESOLVED", None, None, None),
    ]
    assert page.count == 10
    times = [event.created_at for event in page.results]
    assert times == sorted(times)
    final = (await client.get(ticket, headers=creator)).json()
    assert final["updated_at"] == response.json()["results"][-1]["created_at"]


async def test_events_show_only_the_fields_that_apply(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    opened = await client.post(
        TICKETS,
        json={
            "fleet": cast.fleet.id,
            "reason": "OTHER",
            "description": "x",
            "entities": [{"entity_type": "toll_charge", "entity_id": 1}],
        },
        headers=cast.creator.headers,
    )

    response = await client.get(
        f"{TICKETS}{opened.json()['id']}/events/", headers=cast.creator.headers
    )

    [event] = response.json()["results"]
    assert set(event) == {"id", "kind", "actor", "created_at"}
    assert event["created_at"] == opened.json()["created_at"]


async def test_the_history_pages_like_the_ticket_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    for n in range(3):
        await client.post(
            f"{TICKETS}{ticket.id}/comments/",
            json={"content": str(n)},
            headers=cast.creator.headers,
        )

    response = await client.get(
        f"{TICKETS}{ticket.id}/events",
        params={"limit": 2},
        headers=cast.creator.headers,
    )

    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert (
        body["next"] == f"http://testserver{TICKETS}{ticket.id}/events?limit=2&offset=2"
    )
    assert body["previous"] is None


async def test_events_cannot_be_rewritten_even_from_sql(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    await client.post(
        f"{TICKETS}{ticket.id}/comments/",
        json={"content": "x"},
        headers=cast.creator.headers,
    )

    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(update(TicketEvent).values(note="forged"))
