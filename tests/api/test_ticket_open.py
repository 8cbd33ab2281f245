"""POST /v2/support-tickets/ and GET /v2/support-tickets/{id}/."""

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etags import etag_of
from app.models import SupportTicket, TicketEntity, TicketEvent
from app.models.enums import TicketStatus
from app.schemas.ticket import TicketRead
from tests.cast import Cast, make_cast

TICKETS = "/v2/support-tickets/"


def new_ticket(cast: Cast, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "fleet": cast.fleet.id,
        "reason": "DUPLICATE_CHARGE",
        "description": "Charged twice at the Tappan Zee on 2 May.",
        "entities": [
            {"entity_type": "toll_charge", "entity_id": 4242},
            {"entity_type": "toll_charge", "entity_id": 4243},
        ],
    }
    body.update(changes)
    return body


async def count_rows(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def counters_match_the_table(session: AsyncSession) -> bool:
    mismatches = await session.scalar(
        text(
            """
            SELECT count(*) FROM (
                SELECT fleet_id, status, reason, count(*) AS n
                FROM support_tickets GROUP BY 1, 2, 3
            ) AS actual
            FULL JOIN (SELECT * FROM ticket_counters WHERE ticket_count <> 0) AS kept
                USING (fleet_id, status, reason)
            WHERE actual.n IS DISTINCT FROM kept.ticket_count
            """
        )
    )
    return mismatches == 0


async def test_a_member_opens_a_ticket_and_gets_its_location(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS, json=new_ticket(cast), headers=cast.creator.headers
    )

    assert response.status_code == 201
    ticket = TicketRead.model_validate_json(response.content)
    assert ticket.status is TicketStatus.OPEN
    assert ticket.created_by.id == cast.creator.id
    assert ticket.ticket_type == "DISPUTE"
    assert [(e.entity_type, e.entity_id) for e in ticket.entities] == [
        ("toll_charge", 4242),
        ("toll_charge", 4243),
    ]
    assert (ticket.comments, ticket.resolved_by, ticket.resolved_at) == ([], None, None)
    assert ticket.resolution_note == ""
    assert response.headers["Location"] == f"http://testserver{TICKETS}{ticket.id}/"
    assert response.headers["ETag"] == etag_of(response.content)


async def test_the_ticket_reads_the_same_alone_as_in_the_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    created = await client.post(
        TICKETS, json=new_ticket(cast), headers=cast.creator.headers
    )

    alone = await client.get(created.headers["Location"], headers=cast.creator.headers)
    listed = await client.get(
        TICKETS, params={"fleet": cast.fleet.id}, headers=cast.creator.headers
    )

    assert alone.status_code == 200
    assert alone.content == created.content
    assert alone.headers["ETag"] == created.headers["ETag"]
    # The list wraps the very same bytes: the single item is a substring.
    assert listed.text.endswith(',"results":[' + alone.text + "]}")


async def test_without_the_trailing_slash_the_ticket_is_the_same(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)

    with_slash = await client.get(f"{TICKETS}{ticket.id}/", headers=cast.staff.headers)
    without = await client.get(f"{TICKETS}{ticket.id}", headers=cast.staff.headers)

    assert without.status_code == 200
    assert without.content == with_slash.content


async def test_staff_may_open_a_ticket_for_any_fleet(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS,
        json=new_ticket(cast, fleet=cast.other_fleet.id),
        headers=cast.staff.headers,
    )

    assert response.status_code == 201
    assert response.json()["created_by"]["id"] == cast.staff.id


async def test_another_fleet_and_an_unknown_fleet_are_the_same_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    foreign = await client.post(
        TICKETS,
        json=new_ticket(cast, fleet=cast.other_fleet.id),
        headers=cast.creator.headers,
    )
    unknown = await client.post(
        TICKETS, json=new_ticket(cast, fleet=987654321), headers=cast.creator.headers
    )
    unknown_for_staff = await client.post(
        TICKETS, json=new_ticket(cast, fleet=987654321), headers=cast.staff.headers
    )

    assert foreign.status_code == unknown.status_code == 422
    assert foreign.content == unknown.content == unknown_for_staff.content
    assert [problem["field"] for problem in foreign.json()["errors"]] == ["fleet"]
    assert await count_rows(session, SupportTicket) == 0


def entity(entity_type: object = "toll_charge", entity_id: object = 1) -> object:
    return {"entity_type": entity_type, "entity_id": entity_id}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fleet": None}, "fleet"),
        ({"fleet": "1"}, "fleet"),
        ({"fleet": True}, "fleet"),
        ({"fleet": 0}, "fleet"),
        ({"fleet": 2**63}, "fleet"),
        ({"fleet": 2**53}, "fleet"),
        ({"reason": "BAD_REASON"}, "reason"),
        ({"reason": "not_my_toll"}, "reason"),
        ({"description": ""}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"description": "null \x00 byte"}, "description"),
        ({"description": 12}, "description"),
        ({"ticket_type": "REFUND"}, "ticket_type"),
        ({"entities": []}, "entities"),
        ({"entities": [entity(entity_id=n) for n in range(1, 52)]}, "entities"),
        ({"entities": [entity(), entity()]}, "entities"),
        ({"entities": "toll_charge:1"}, "entities"),
        ({"entities": [entity(entity_type="Toll")]}, "entities.0.entity_type"),
        ({"entities": [entity(entity_type="1toll")]}, "entities.0.entity_type"),
        ({"entities": [entity(entity_type="t" * 51)]}, "entities.0.entity_type"),
        ({"entities": [entity(entity_type="to\x00ll")]}, "entities.0.entity_type"),
        ({"entities": [entity(entity_id=0)]}, "entities.0.entity_id"),
        ({"entities": [entity(entity_id=2**31)]}, "entities.0.entity_id"),
        ({"entities": [entity(entity_id="7")]}, "entities.0.entity_id"),
        ({"entities": [entity(entity_id=7.5)]}, "entities.0.entity_id"),
        ({"entities": [entity(entity_id=1e30)]}, "entities.0.entity_id"),
        ({"fleet": 1.5}, "fleet"),
        ({"entities": [{"entity_type": "toll_charge"}]}, "entities.0.entity_id"),
        ({"entities": [{**entity(), "id": 3}]}, "entities.0.id"),
        ({"status": "APPROVED"}, "status"),
        ({"created_by": 1}, "created_by"),
        ({"resolved_by": 1}, "resolved_by"),
        ({"resolved_at": "2026-01-01T00:00:00Z"}, "resolved_at"),
        ({"resolution_note": "done"}, "resolution_note"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
        ({"id": 5}, "id"),
        ({"comments": []}, "comments"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_each_invalid_field_is_a_422_naming_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    changes: dict[str, object],
    field: str,
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS, json=new_ticket(cast, **changes), headers=cast.creator.headers
    )

    assert response.status_code == 422, response.text
    assert field in [problem["field"] for problem in response.json()["errors"]]
    assert await count_rows(session, SupportTicket) == 0


async def test_numbers_written_with_a_zero_fraction_are_whole_numbers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Found by Schemathesis: JSON Schema's "integer" admits 4242.0.
    cast = await make_cast(session)
    body = new_ticket(
        cast,
        fleet=float(cast.fleet.id),
        entities=[{"entity_type": "toll_charge", "entity_id": 4242.0}],
    )

    response = await client.post(TICKETS, json=body, headers=cast.creator.headers)

    assert response.status_code == 201, response.text
    assert response.json()["entities"][0]["entity_id"] == 4242


@pytest.mark.parametrize("missing", ["fleet", "reason", "description", "entities"])
async def test_each_required_field_is_required(
    client: httpx.AsyncClient, session: AsyncSession, missing: str
) -> None:
    cast = await make_cast(session)
    body = new_ticket(cast)
    del body[missing]

    response = await client.post(TICKETS, json=body, headers=cast.creator.headers)

    assert response.status_code == 422
    assert [problem["field"] for problem in response.json()["errors"]] == [missing]


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b"null", b'"ticket"', b"\xff\xfe{}"],
)
async def test_a_body_that_is_not_a_json_object_is_422(
    client: httpx.AsyncClient, session: AsyncSession, content: bytes
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS,
        content=content,
        headers={**cast.creator.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_the_longest_valid_body_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    body = new_ticket(
        cast,
        description="\U0001f69a" * 5000,
        entities=[entity("t" * 50, 2**31 - 1 - n) for n in range(50)],
    )

    response = await client.post(TICKETS, json=body, headers=cast.creator.headers)

    assert response.status_code == 201
    assert len(response.json()["entities"]) == 50


async def test_an_oversized_body_is_refused_unread(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    body = new_ticket(cast, description="x" * 300_000)

    response = await client.post(TICKETS, json=body, headers=cast.creator.headers)

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_a_charge_in_an_open_dispute_is_409_naming_the_ticket(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    holder = await cast.ticket(
        session, status=TicketStatus.UNDER_REVIEW, entities=[("toll_charge", 4243)]
    )
    tickets_before = await count_rows(session, SupportTicket)
    entities_before = await count_rows(session, TicketEntity)

    response = await client.post(
        TICKETS, json=new_ticket(cast), headers=cast.colleague.headers
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("charge-already-disputed")
    assert (
        f"toll_charge 4243 is disputed by ticket {holder.id}"
        in (response.json()["detail"])
    )
    assert await count_rows(session, SupportTicket) == tickets_before
    assert await count_rows(session, TicketEntity) == entities_before
    assert await count_rows(session, TicketEvent) == 0
    assert await counters_match_the_table(session)


async def test_another_fleets_ticket_holding_the_charge_is_not_named(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    await cast.ticket(session, entities=[("toll_charge", 4242)])

    response = await client.post(
        TICKETS,
        json=new_ticket(cast, fleet=cast.other_fleet.id),
        headers=cast.outsider.headers,
    )

    assert response.status_code == 409
    assert "another fleet's ticket" in response.json()["detail"]
    assert "by ticket" not in response.json()["detail"]


@pytest.mark.parametrize(
    ("closing", "note"),
    [("CANCELLED", None), ("DENIED", "Not a duplicate."), ("RESOLVED", "Settled.")],
)
async def test_a_charge_is_free_again_once_its_ticket_is_closed(
    client: httpx.AsyncClient, session: AsyncSession, closing: str, note: str | None
) -> None:
    cast = await make_cast(session)
    first = await client.post(
        TICKETS, json=new_ticket(cast), headers=cast.creator.headers
    )
    ticket_id = first.json()["id"]
    if closing == "DENIED":
        await client.post(
            f"{TICKETS}{ticket_id}/transitions/",
            json={"to": "UNDER_REVIEW"},
            headers=cast.staff.headers,
        )
    await client.post(
        f"{TICKETS}{ticket_id}/transitions/",
        json={"to": closing, "resolution_note": note},
        headers=cast.staff.headers,
    )

    second = await client.post(
        TICKETS, json=new_ticket(cast), headers=cast.creator.headers
    )

    assert second.status_code == 201, second.text
    assert await counters_match_the_table(session)


async def test_ticket_counters_follow_every_kind_of_write(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    opened = [
        (
            await client.post(
                TICKETS,
                json=new_ticket(cast, entities=[entity(entity_id=n)]),
                headers=cast.creator.headers,
            )
        ).json()["id"]
        for n in range(1, 5)
    ]
    moves = [
        (opened[0], {"to": "UNDER_REVIEW"}),
        (opened[0], {"to": "APPROVED", "resolution_note": "ok"}),
        (opened[0], {"to": "RESOLVED"}),
        (opened[1], {"to": "CANCELLED"}),
        (opened[2], {"to": "RESOLVED", "resolution_note": "settled"}),
    ]
    for ticket_id, move in moves:
        response = await client.post(
            f"{TICKETS}{ticket_id}/transitions/", json=move, headers=cast.staff.headers
        )
        assert response.status_code == 200
    await client.patch(
        f"{TICKETS}{opened[3]}/", json={"reason": "OTHER"}, headers=cast.creator.headers
    )

    assert await counters_match_the_table(session)


async def test_a_missing_ticket_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    response = await client.get(f"{TICKETS}999999/", headers=cast.staff.headers)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_the_collection_answers_without_its_trailing_slash(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    opened = await client.post(
        TICKETS.rstrip("/"), json=new_ticket(cast), headers=cast.creator.headers
    )
    listed = await client.get(TICKETS.rstrip("/"), headers=cast.creator.headers)

    assert opened.status_code == 201
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
