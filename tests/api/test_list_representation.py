"""The shape of GET /v2/support-tickets/: envelope, fields, types, OpenAPI."""

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import TicketComment
from app.models.enums import TicketReason, TicketStatus
from app.schemas.common import Page
from app.schemas.ticket import TicketRead
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"


async def test_a_fully_populated_ticket_renders_exactly(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fleet = await make_fleet(session)
    creator = await make_user(session, "dana", fleets=[fleet])
    agent = await make_user(session, "agent.smith", staff=True)
    opened = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)
    resolved = datetime(2024, 3, 4, 16, 5, 7, 250_000, tzinfo=UTC)
    ticket = await make_ticket(
        session,
        fleet,
        creator,
        status=TicketStatus.RESOLVED,
        reason=TicketReason.NOT_MY_TOLL,
        description="Plate misread at gate 4",
        resolution_note="Refunded in full",
        resolved_by=agent,
        resolved_at=resolved,
        created_at=opened,
        updated_at=resolved,
        entities=[("vehicle", 77), ("toll_charge", 1_073_741_823)],
        comments=[(creator, "Photo attached"), (agent, "Checked the camera")],
    )
    await session.execute(
        TicketComment.__table__.update().values(created_at=opened, updated_at=opened)
    )
    token = await make_token(session, creator)

    response = await client.get(LIST, headers=bearer(token))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    entity_ids = [entity["id"] for entity in body["results"][0]["entities"]]
    comment_ids = [comment["id"] for comment in body["results"][0]["comments"]]
    creator_json = {"id": creator.id, "username": "dana", "email": "dana@example.com"}
    agent_json = {
        "id": agent.id,
        "username": "agent.smith",
        "email": "agent.smith@example.com",
    }
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": ticket.id,
                "created_by": creator_json,
                "status": "RESOLVED",
                "status_display": "Resolved",
                "reason": "NOT_MY_TOLL",
                "reason_display": "Not My Toll",
                "resolved_by": agent_json,
                "resolved_at": "2024-03-04T16:05:07.250000Z",
                "created_at": "2024-03-01T09:30:00Z",
                "updated_at": "2024-03-04T16:05:07.250000Z",
                "entities": [
                    {"id": entity_ids[0], "entity_type": "vehicle", "entity_id": 77},
                    {
                        "id": entity_ids[1],
                        "entity_type": "toll_charge",
                        "entity_id": 1_073_741_823,
                    },
                ],
                "comments": [
                    {
                        "id": comment_ids[0],
                        "author": creator_json,
                        "content": "Photo attached",
                        "sequence": 1,
                        "created_at": "2024-03-01T09:30:00Z",
                        "updated_at": "2024-03-01T09:30:00Z",
                    },
                    {
                        "id": comment_ids[1],
                        "author": agent_json,
                        "content": "Checked the camera",
                        "sequence": 2,
                        "created_at": "2024-03-01T09:30:00Z",
                        "updated_at": "2024-03-01T09:30:00Z",
                    },
                ],
                "ticket_type": "DISPUTE",
                "description": "Plate misread at gate 4",
                "resolution_note": "Refunded in full",
            }
        ],
    }
    assert entity_ids == sorted(entity_ids)


async def test_an_unresolved_ticket_has_null_resolver_and_empty_strings(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fleet = await make_fleet(session)
    creator = await make_user(session, fleets=[fleet])
    await make_ticket(session, fleet, creator, description="")
    token = await make_token(session, creator)

    item = (await client.get(LIST, headers=bearer(token))).json()["results"][0]

    assert item["resolved_by"] is None
    assert item["resolved_at"] is None
    assert item["description"] == ""
    assert item["resolution_note"] == ""
    assert item["comments"] == []
    assert list(item) == list(TicketRead.model_fields)


@pytest.mark.parametrize(
    ("status", "label"),
    [(status, status.label) for status in TicketStatus],
)
async def test_status_display_is_the_contract_label(
    client: httpx.AsyncClient, session: AsyncSession, status: TicketStatus, label: str
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, staff=True)
    resolved = {"resolved_by": user, "resolved_at": datetime.now(UTC)}
    is_resolved = status in {
        TicketStatus.APPROVED,
        TicketStatus.DENIED,
        TicketStatus.RESOLVED,
    }
    await make_ticket(
        session, fleet, user, status=status, **(resolved if is_resolved else {})
    )
    token = await make_token(session, user)

    item = (await client.get(LIST, headers=bearer(token))).json()["results"][0]

    assert (item["status"], item["status_display"]) == (status.value, label)


async def test_every_reason_has_its_label(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, staff=True)
    for reason in TicketReason:
        await make_ticket(session, fleet, user, reason=reason)
    token = await make_token(session, user)

    items = (await client.get(LIST, headers=bearer(token))).json()["results"]

    assert {(i["reason"], i["reason_display"]) for i in items} == {
        ("INCORRECT_AMOUNT", "Incorrect Amount"),
        ("WRONG_VEHICLE", "Wrong Vehicle"),
        ("DUPLICATE_CHARGE", "Duplicate Charge"),
        ("NOT_MY_TOLL", "Not My Toll"),
        ("ALREADY_PAID", "Already Paid"),
        ("OTHER", "Other"),
    }


async def test_the_body_conforms_to_the_documented_schema(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    for _ in range(3):
        await make_ticket(session, fleet, user, comments=[(user, "still waiting")])
    token = await make_token(session, user)

    response = await client.get(LIST, params={"limit": 2}, headers=bearer(token))

    page = Page[TicketRead].model_validate_json(response.content)
    assert page.count == 3
    assert len(page.results) == 2


async def test_the_path_without_trailing_slash_answers_the_same(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    await make_ticket(session, fleet, user)
    token = await make_token(session, user)

    with_slash = await client.get(LIST, headers=bearer(token))
    without = await client.get(LIST.rstrip("/"), headers=bearer(token))

    assert without.status_code == 200
    assert without.json()["results"] == with_slash.json()["results"]


async def test_statements_per_request_do_not_grow_with_the_page(
    client: httpx.AsyncClient, session: AsyncSession, connection: AsyncConnection
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    for _ in range(30):
        await make_ticket(
            session,
            fleet,
            user,
            entities=[("toll_charge", _ + 1000), ("vehicle", _ + 1000)],
            comments=[(user, "one"), (user, "two")],
        )
    token = await make_token(session, user)
    await client.get(LIST, headers=bearer(token))  # stamps last_used_at once

    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        await client.get(LIST, params={"limit": 1}, headers=bearer(token))
        for_one = list(statements)
        statements.clear()
        await client.get(LIST, params={"limit": 30}, headers=bearer(token))
        for_thirty = list(statements)
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)

    assert len(for_one) == len(for_thirty)
    queries = [s for s in for_thirty if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(queries) == 2, queries  # the token lookup; count and page together


def test_openapi_documents_the_contract(app: FastAPI) -> None:
    schema = app.openapi()
    operation = schema["paths"]["/v2/support-tickets/"]["get"]

    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {
        "fleet",
        "status",
        "reason",
        "search",
        "ordering",
        "limit",
        "offset",
    }
    limit_schemas = parameters["limit"]["schema"]["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 1000} in limit_schemas
    status_items = schema["components"]["schemas"]["TicketStatus"]["enum"]
    assert status_items == [s.value for s in TicketStatus]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"200", "401", "422"} <= set(operation["responses"])
    assert "application/problem+json" in operation["responses"]["401"]["content"]

    ticket = schema["components"]["schemas"]["TicketRead"]
    assert set(ticket["required"]) == set(TicketRead.model_fields)
    assert {"type": "null"} in ticket["properties"]["resolved_by"]["anyOf"]
    assert "/v2/support-tickets" not in schema["paths"]
