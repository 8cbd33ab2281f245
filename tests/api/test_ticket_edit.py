"""PATCH /v2/support-tickets/{id}/: who may edit what, when, and If-Match."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.enums import TicketStatus
from tests.cast import make_cast

TICKETS = "/v2/support-tickets/"


def ticket_url(ticket_id: int) -> str:
    return f"{TICKETS}{ticket_id}/"


async def test_the_creator_edits_an_open_ticket(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, entities=[("toll_charge", 1)])

    response = await client.patch(
        ticket_url(ticket.id),
        json={
            "description": "Plate misread at the gantry.",
            "reason": "WRONG_VEHICLE",
            "entities": [
                {"entity_type": "toll_charge", "entity_id": 1},
                {"entity_type": "vehicle", "entity_id": 77},
            ],
        },
        headers=cast.creator.headers,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["description"] == "Plate misread at the gantry."
    assert (body["reason"], body["reason_display"]) == (
        "WRONG_VEHICLE",
        "Wrong Vehicle",
    )
    assert [(e["entity_type"], e["entity_id"]) for e in body["entities"]] == [
        ("toll_charge", 1),
        ("vehicle", 77),
    ]
    assert body["updated_at"] != body["created_at"]
    assert response.headers["ETag"] != ""


async def test_fields_left_out_keep_their_value(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, description="Before")
    before = (
        await client.get(ticket_url(ticket.id), headers=cast.creator.headers)
    ).json()

    response = await client.patch(
        ticket_url(ticket.id), json={"reason": "OTHER"}, headers=cast.creator.headers
    )

    after = response.json()
    assert after["description"] == "Before"
    assert after["entities"] == before["entities"]


async def test_replacing_entities_frees_the_removed_charges(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, entities=[("toll_charge", 5)])
    await client.patch(
        ticket_url(ticket.id),
        json={"entities": [{"entity_type": "toll_charge", "entity_id": 6}]},
        headers=cast.creator.headers,
    )

    response = await client.post(
        TICKETS,
        json={
            "fleet": cast.fleet.id,
            "reason": "OTHER",
            "description": "The freed charge",
            "entities": [{"entity_type": "toll_charge", "entity_id": 5}],
        },
        headers=cast.colleague.headers,
    )

    assert response.status_code == 201


async def test_adding_a_charge_held_by_another_open_ticket_is_409_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    holder = await cast.ticket(session, entities=[("toll_charge", 9)])
    ticket = await cast.ticket(session, entities=[("toll_charge", 8)])
    before = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)

    response = await client.patch(
        ticket_url(ticket.id),
        json={
            "description": "Also the other one",
            "entities": [{"entity_type": "toll_charge", "entity_id": 9}],
        },
        headers=cast.creator.headers,
    )

    assert response.status_code == 409
    assert f"disputed by ticket {holder.id}" in response.json()["detail"]
    after = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)
    assert after.content == before.content


async def test_staff_edit_a_ticket_under_review(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=TicketStatus.UNDER_REVIEW)

    response = await client.patch(
        ticket_url(ticket.id),
        json={"reason": "ALREADY_PAID"},
        headers=cast.staff.headers,
    )

    assert response.status_code == 200
    assert response.json()["reason"] == "ALREADY_PAID"


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("creator", TicketStatus.OPEN, 200),
        ("creator", TicketStatus.UNDER_REVIEW, 409),
        ("creator", TicketStatus.APPROVED, 409),
        ("creator", TicketStatus.CANCELLED, 409),
        ("staff", TicketStatus.OPEN, 200),
        ("staff", TicketStatus.UNDER_REVIEW, 200),
        ("staff", TicketStatus.APPROVED, 409),
        ("staff", TicketStatus.DENIED, 409),
        ("staff", TicketStatus.RESOLVED, 409),
        ("staff", TicketStatus.CANCELLED, 409),
        ("colleague", TicketStatus.OPEN, 403),
        ("colleague", TicketStatus.RESOLVED, 403),
    ],
)
async def test_who_may_edit_and_until_when(
    client: httpx.AsyncClient,
    session: AsyncSession,
    role: str,
    status: TicketStatus,
    expected: int,
) -> None:
    cast = await make_cast(session)
    people = {"creator": cast.creator, "staff": cast.staff, "colleague": cast.colleague}
    ticket = await cast.ticket(session, status=status)

    response = await client.patch(
        ticket_url(ticket.id),
        json={"description": "Edited"},
        headers=people[role].headers,
    )

    assert response.status_code == expected, response.text


async def test_a_stale_if_match_is_412_and_leaves_the_ticket_unchanged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    first_read = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)
    await client.patch(
        ticket_url(ticket.id), json={"reason": "OTHER"}, headers=cast.staff.headers
    )
    current = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)

    response = await client.patch(
        ticket_url(ticket.id),
        json={"description": "Based on an old read"},
        headers={**cast.creator.headers, "If-Match": first_read.headers["ETag"]},
    )

    assert response.status_code == 412
    after = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)
    assert after.content == current.content


@pytest.mark.parametrize("tag", ["current", "*", "listed"])
async def test_a_current_if_match_lets_the_edit_through(
    client: httpx.AsyncClient, session: AsyncSession, tag: str
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    etag = (
        await client.get(ticket_url(ticket.id), headers=cast.creator.headers)
    ).headers["ETag"]
    header = {"current": etag, "*": "*", "listed": f'"stale", {etag}'}[tag]

    response = await client.patch(
        ticket_url(ticket.id),
        json={"description": "Fresh"},
        headers={**cast.creator.headers, "If-Match": header},
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag


@pytest.mark.parametrize("header", ['W/"abc"', "garbage", '""'])
async def test_weak_or_malformed_if_match_never_matches(
    client: httpx.AsyncClient, session: AsyncSession, header: str
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.patch(
        ticket_url(ticket.id),
        json={"description": "x"},
        headers={**cast.creator.headers, "If-Match": header},
    )

    assert response.status_code == 412


async def test_an_edit_that_changes_nothing_keeps_the_etag(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, description="Same")
    before = await client.get(ticket_url(ticket.id), headers=cast.creator.headers)

    response = await client.patch(
        ticket_url(ticket.id),
        json={"description": "Same"},
        headers=cast.creator.headers,
    )

    assert response.status_code == 200
    assert response.content == before.content
    assert response.headers["ETag"] == before.headers["ETag"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"description": None}, "description"),
        ({"description": ""}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"description": "a\x00b"}, "description"),
        ({"reason": "LOST"}, "reason"),
        ({"reason": None}, "reason"),
        ({"entities": []}, "entities"),
        ({"entities": None}, "entities"),
        (
            {"entities": [{"entity_type": "toll_charge", "entity_id": 1}] * 2},
            "entities",
        ),
        (
            {"entities": [{"entity_type": "Toll", "entity_id": 1}]},
            "entities.0.entity_type",
        ),
        ({"status": "APPROVED"}, "status"),
        ({"fleet": 1}, "fleet"),
        ({"ticket_type": "DISPUTE"}, "ticket_type"),
        ({"created_by": 1}, "created_by"),
        ({"resolution_note": "x"}, "resolution_note"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
    ],
)
async def test_invalid_edits_are_422_naming_the_field(
    client: httpx.AsyncClient,
    session: AsyncSession,
    body: dict[str, object],
    field: str,
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    response = await client.patch(
        ticket_url(ticket.id), json=body, headers=cast.creator.headers
    )

    assert response.status_code == 422, response.text
    assert field in [problem["field"] for problem in response.json()["errors"]]
