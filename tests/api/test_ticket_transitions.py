"""POST /v2/support-tickets/{id}/transitions/: the table, cell by cell."""

from datetime import datetime
from itertools import product

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import TicketEvent
from app.models.enums import TicketStatus
from tests.cast import Cast, make_cast

OPEN = TicketStatus.OPEN
UNDER_REVIEW = TicketStatus.UNDER_REVIEW
APPROVED = TicketStatus.APPROVED
DENIED = TicketStatus.DENIED
RESOLVED = TicketStatus.RESOLVED
CANCELLED = TicketStatus.CANCELLED

# The table, written out independently of the service's own.
STAFF_ONLY = frozenset({"staff"})
CREATOR_OR_STAFF = frozenset({"staff", "creator"})
TABLE = {
    (OPEN, UNDER_REVIEW): STAFF_ONLY,
    (UNDER_REVIEW, OPEN): STAFF_ONLY,
    (UNDER_REVIEW, APPROVED): STAFF_ONLY,
    (UNDER_REVIEW, DENIED): STAFF_ONLY,
    (OPEN, RESOLVED): STAFF_ONLY,
    (APPROVED, RESOLVED): STAFF_ONLY,
    (DENIED, RESOLVED): STAFF_ONLY,
    (OPEN, CANCELLED): CREATOR_OR_STAFF,
    (UNDER_REVIEW, CANCELLED): CREATOR_OR_STAFF,
}
NEEDS_A_NOTE = {APPROVED, DENIED, RESOLVED}
ROLES = ("staff", "creator", "colleague")


def expected_outcome(source: TicketStatus, target: TicketStatus, role: str) -> int:
    """Role first (403: the creator may only ever cancel), then state (409)."""
    if role == "colleague" or (role == "creator" and target is not CANCELLED):
        return 403
    return 200 if (source, target) in TABLE else 409


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def transitions_url(ticket_id: int) -> str:
    return f"/v2/support-tickets/{ticket_id}/transitions/"


def actor(cast: Cast, role: str) -> dict[str, str]:
    people = {"staff": cast.staff, "creator": cast.creator, "colleague": cast.colleague}
    return people[role].headers


@pytest.mark.parametrize(
    ("source", "target", "role"), list(product(TicketStatus, TicketStatus, ROLES))
)
async def test_every_cell_of_the_transition_table(
    client: httpx.AsyncClient,
    session: AsyncSession,
    source: TicketStatus,
    target: TicketStatus,
    role: str,
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=source)
    body: dict[str, str] = {"to": target}
    if target in NEEDS_A_NOTE:
        body["resolution_note"] = "Checked against the gantry photos."

    response = await client.post(
        transitions_url(ticket.id), json=body, headers=actor(cast, role)
    )

    expected = expected_outcome(source, target, role)
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json()["status"] == target
        assert response.json()["status_display"] == target.label
    if expected == 409:
        allowed = [to for (start, to) in TABLE if start is source]
        detail = response.json()["detail"]
        assert all(status.value in detail for status in allowed), detail
        assert response.json()["type"].endswith("transition-not-allowed")
    events = await session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
    )
    assert events == (1 if expected == 200 else 0)


async def test_approval_records_the_resolver_the_time_and_the_note(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=UNDER_REVIEW)

    response = await client.post(
        transitions_url(ticket.id),
        json={"to": "APPROVED", "resolution_note": "Refund issued."},
        headers=cast.staff.headers,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["resolved_by"] == {
        "id": cast.staff.id,
        "username": cast.staff.user.username,
        "email": cast.staff.user.email,
    }
    assert body["resolved_at"] == body["updated_at"]
    assert body["resolution_note"] == "Refund issued."


async def test_resolving_a_decided_ticket_keeps_the_note_when_none_is_sent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=UNDER_REVIEW)
    await client.post(
        transitions_url(ticket.id),
        json={"to": "DENIED", "resolution_note": "The toll was yours."},
        headers=cast.staff.headers,
    )

    response = await client.post(
        transitions_url(ticket.id), json={"to": "RESOLVED"}, headers=cast.staff.headers
    )

    assert response.status_code == 200
    assert response.json()["status"] == "RESOLVED"
    assert response.json()["resolution_note"] == "The toll was yours."


async def test_resolving_a_decided_ticket_with_a_note_replaces_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=APPROVED, resolution_note="Approved.")

    response = await client.post(
        transitions_url(ticket.id),
        json={"to": "RESOLVED", "resolution_note": "Refund paid on 3 May."},
        headers=cast.staff.headers,
    )

    assert response.json()["resolution_note"] == "Refund paid on 3 May."


async def test_moves_that_decide_nothing_leave_the_resolution_alone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=UNDER_REVIEW)

    response = await client.post(
        transitions_url(ticket.id), json={"to": "OPEN"}, headers=cast.staff.headers
    )

    body = response.json()
    assert (body["resolved_by"], body["resolved_at"], body["resolution_note"]) == (
        None,
        None,
        "",
    )
    assert parse_time(body["updated_at"]) > parse_time(body["created_at"])


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        (OPEN, {"to": "UNDER_REVIEW", "resolution_note": "x"}, "takes no"),
        (UNDER_REVIEW, {"to": "OPEN", "resolution_note": "x"}, "takes no"),
        (OPEN, {"to": "CANCELLED", "resolution_note": "x"}, "takes no"),
        (UNDER_REVIEW, {"to": "APPROVED"}, "required"),
        (UNDER_REVIEW, {"to": "DENIED", "resolution_note": None}, "required"),
        (UNDER_REVIEW, {"to": "DENIED", "resolution_note": "  \n"}, "required"),
        (OPEN, {"to": "RESOLVED"}, "required"),
        (OPEN, {"to": "RESOLVED", "resolution_note": ""}, "required"),
    ],
)
async def test_a_note_where_none_is_taken_or_none_where_one_is_needed_is_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    source: TicketStatus,
    body: dict[str, str],
    message: str,
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=source)

    response = await client.post(
        transitions_url(ticket.id), json=body, headers=cast.staff.headers
    )

    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert problem["field"] == "resolution_note"
    assert message in problem["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"to": "CLOSED"},
        {"to": "open"},
        {"to": None},
        {"to": "DENIED", "resolution_note": 5},
        {"to": "DENIED", "resolution_note": "x" * 5001},
        {"to": "DENIED", "resolution_note": "nul\x00"},
        {"to": "DENIED", "resolution_note": "x", "resolved_by": 1},
        {"to": "DENIED", "resolution_note": "x", "status": "DENIED"},
    ],
)
async def test_malformed_transition_bodies_are_422(
    client: httpx.AsyncClient, session: AsyncSession, body: dict[str, object]
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=UNDER_REVIEW)

    response = await client.post(
        transitions_url(ticket.id), json=body, headers=cast.staff.headers
    )

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
