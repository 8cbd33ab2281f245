"""Query parameters of GET /v2/support-tickets/: filters, validation, empties."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.enums import TicketReason, TicketStatus
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"


@pytest.fixture
async def staff_token(session: AsyncSession) -> str:
    return await make_token(session, await make_user(session, staff=True))


@pytest.fixture
async def mixed_tickets(session: AsyncSession) -> dict[str, int]:
    """One ticket per (status, reason) pair of interest, keyed by a name."""
    fleet = await make_fleet(session)
    staff = await make_user(session, staff=True)
    resolved = {"resolved_by": staff, "resolved_at": datetime.now(UTC)}
    specs = {
        "open_amount": (TicketStatus.OPEN, TicketReason.INCORRECT_AMOUNT, {}),
        "open_vehicle": (TicketStatus.OPEN, TicketReason.WRONG_VEHICLE, {}),
        "review_duplicate": (
            TicketStatus.UNDER_REVIEW,
            TicketReason.DUPLICATE_CHARGE,
            {},
        ),
        "denied_paid": (TicketStatus.DENIED, TicketReason.ALREADY_PAID, resolved),
        "cancelled_other": (TicketStatus.CANCELLED, TicketReason.OTHER, {}),
    }
    ids = {}
    for name, (status, reason, extra) in specs.items():
        ticket = await make_ticket(
            session, fleet, staff, status=status, reason=reason, **extra
        )
        ids[name] = ticket.id
    return ids


async def _names(
    client: httpx.AsyncClient, token: str, ids: dict[str, int], query: str
) -> set[str]:
    response = await client.get(f"{LIST}?{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    by_id = {ticket_id: name for name, ticket_id in ids.items()}
    names = {by_id[ticket["id"]] for ticket in body["results"]}
    assert body["count"] == len(names)
    return names


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=OPEN", {"open_amount", "open_vehicle"}),
        ("status=UNDER_REVIEW", {"review_duplicate"}),
        ("status=OPEN,DENIED", {"open_amount", "open_vehicle", "denied_paid"}),
        ("status=OPEN%2C%20DENIED", {"open_amount", "open_vehicle", "denied_paid"}),
        ("status=%20CANCELLED%20", {"cancelled_other"}),
        ("status=DENIED&status=CANCELLED", {"denied_paid", "cancelled_other"}),
        ("status=RESOLVED", set()),
        ("reason=WRONG_VEHICLE", {"open_vehicle"}),
        ("reason=OTHER,ALREADY_PAID", {"cancelled_other", "denied_paid"}),
        ("status=OPEN&reason=WRONG_VEHICLE", {"open_vehicle"}),
        ("status=OPEN&reason=OTHER", set()),
    ],
)
async def test_status_and_reason_filters(
    client: httpx.AsyncClient,
    staff_token: str,
    mixed_tickets: dict[str, int],
    query: str,
    expected: set[str],
) -> None:
    assert await _names(client, staff_token, mixed_tickets, query) == expected


@pytest.mark.parametrize(
    "query",
    ["status=", "reason=", "search=", "ordering=", "limit=", "offset=", "fleet="],
)
async def test_an_empty_value_means_the_parameter_is_absent(
    client: httpx.AsyncClient,
    staff_token: str,
    mixed_tickets: dict[str, int],
    query: str,
) -> None:
    assert await _names(client, staff_token, mixed_tickets, query) == set(mixed_tickets)


async def test_unknown_parameters_are_ignored(
    client: httpx.AsyncClient, staff_token: str, mixed_tickets: dict[str, int]
) -> None:
    names = await _names(client, staff_token, mixed_tickets, "page=3&format=json")

    assert names == set(mixed_tickets)


@pytest.mark.parametrize(
    ("query", "field", "message_part"),
    [
        ("status=open", "status", "'OPEN', 'UNDER_REVIEW', 'APPROVED'"),
        ("status=OPEN,CLOSED", "status", "'RESOLVED'"),
        ("reason=WRONG", "reason", "'INCORRECT_AMOUNT'"),
        ("fleet=north", "fleet", "valid integer"),
        ("fleet=0", "fleet", "greater than or equal to 1"),
        ("fleet=99999999999999999999", "fleet", "less than or equal to"),
        ("limit=0", "limit", "greater than or equal to 1"),
        ("limit=1001", "limit", "less than or equal to 1000"),
        ("limit=ten", "limit", "valid integer"),
        ("limit=1.5", "limit", "valid integer"),
        ("offset=-1", "offset", "greater than or equal to 0"),
        ("offset=1e3", "offset", "valid integer"),
        ("offset=" + "9" * 30, "offset", "less than or equal to"),
        ("ordering=priority", "ordering", "allowed: id, created_at, updated_at"),
        ("ordering=-created_at,-fleet", "ordering", "'fleet'"),
        ("search=" + "a" * 201, "search", "at most 200 characters"),
        ("search=" + "+".join("abcdefghijk"), "search", "at most 10 terms"),
        ("search=abc%00def", "search", "NUL character"),
    ],
)
async def test_invalid_values_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient,
    staff_token: str,
    query: str,
    field: str,
    message_part: str,
) -> None:
    response = await client.get(f"{LIST}?{query}", headers=bearer(staff_token))

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:support-tickets:problem:validation-error"
    assert body["status"] == 422
    assert field in body["detail"]
    problems = [p for p in body["errors"] if p["field"] == field]
    assert problems, body
    assert problems[0]["location"] == "query"
    assert message_part in problems[0]["message"]


async def test_several_invalid_parameters_are_reported_together(
    client: httpx.AsyncClient, staff_token: str
) -> None:
    response = await client.get(
        f"{LIST}?status=NOPE&limit=0&ordering=nope", headers=bearer(staff_token)
    )

    assert response.status_code == 422
    assert {p["field"] for p in response.json()["errors"]} >= {"status", "limit"}


async def test_authentication_is_checked_before_parameters(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{LIST}?limit=0")

    assert response.status_code == 401
