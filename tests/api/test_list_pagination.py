"""ordering, limit/offset and the next/previous links."""

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.enums import TicketReason, TicketStatus
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"
BASE = "http://testserver/v2/support-tickets/"


@pytest.fixture
async def twelve_tickets(session: AsyncSession) -> tuple[str, list[dict[str, object]]]:
    """Tickets with deliberately equal timestamps, codes and empty resolved_at."""
    fleet = await make_fleet(session)
    staff = await make_user(session, staff=True)
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for number in range(12):
        status = rng.choice([TicketStatus.OPEN, TicketStatus.APPROVED])
        resolved = status is TicketStatus.APPROVED
        created = start + timedelta(hours=rng.randint(0, 3))
        ticket = await make_ticket(
            session,
            fleet,
            staff,
            status=status,
            reason=rng.choice(list(TicketReason)),
            created_at=created,
            updated_at=created + timedelta(minutes=rng.randint(0, 2)),
            resolved_by=staff if resolved else None,
            resolved_at=start + timedelta(days=rng.randint(1, 2)) if resolved else None,
            entities=[("toll_charge", 500 + number)],
        )
        made.append(
            {
                "id": ticket.id,
                "created_at": ticket.created_at,
                "updated_at": ticket.updated_at,
                "resolved_at": ticket.resolved_at,
                "status": str(ticket.status),
                "reason": str(ticket.reason),
            }
        )
    return await make_token(session, staff), made


def _expected_order(tickets: list[dict[str, object]], ordering: str) -> list[int]:
    """The contract's ordering, computed independently in Python."""
    keys = [part for part in ordering.split(",") if part] or ["-created_at"]
    names = [key.lstrip("-") for key in keys]
    if "id" not in names:
        keys.append("-id" if keys[-1].startswith("-") else "id")
    ordered = list(tickets)
    for key in reversed(keys):  # stable sorts, least significant key first
        name, descending = key.lstrip("-"), key.startswith("-")
        present = [t for t in ordered if t[name] is not None]
        missing = [t for t in ordered if t[name] is None]
        present.sort(key=lambda t: t[name], reverse=descending)  # type: ignore[arg-type, return-value]
        ordered = present + missing
    return [t["id"] for t in ordered]  # type: ignore[misc]


async def _walk(
    client: httpx.AsyncClient, token: str, ordering: str, limit: int
) -> list[int]:
    """Follow `next` links from the first page to the last."""
    seen: list[int] = []
    url: str | None = f"{LIST}?ordering={ordering}&limit={limit}"
    while url is not None:
        response = await client.get(url, headers=bearer(token))
        assert response.status_code == 200
        body = response.json()
        seen.extend(ticket["id"] for ticket in body["results"])
        url = body["next"]
    return seen


@pytest.mark.parametrize(
    "ordering",
    [
        "",
        "created_at",
        "-updated_at",
        "resolved_at",
        "-resolved_at",
        "status,-created_at",
        "-reason,updated_at",
        "id",
        "-id,created_at",
    ],
)
async def test_walking_the_pages_returns_every_ticket_once_in_order(
    client: httpx.AsyncClient,
    twelve_tickets: tuple[str, list[dict[str, object]]],
    ordering: str,
) -> None:
    token, tickets = twelve_tickets

    walked = await _walk(client, token, ordering, limit=5)

    assert walked == _expected_order(tickets, ordering)


async def test_unresolved_tickets_sort_last_both_ways(
    client: httpx.AsyncClient, twelve_tickets: tuple[str, list[dict[str, object]]]
) -> None:
    token, tickets = twelve_tickets
    unresolved = {t["id"] for t in tickets if t["resolved_at"] is None}

    for ordering in ("resolved_at", "-resolved_at"):
        walked = await _walk(client, token, ordering, limit=100)
        assert set(walked[-len(unresolved) :]) == unresolved


async def test_first_middle_last_and_past_the_end_links(
    client: httpx.AsyncClient, twelve_tickets: tuple[str, list[dict[str, object]]]
) -> None:
    token, _ = twelve_tickets

    async def page(query: str) -> dict[str, object]:
        response = await client.get(f"{LIST}?{query}", headers=bearer(token))
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    first = await page("limit=5")
    assert (first["count"], first["previous"]) == (12, None)
    assert first["next"] == f"{BASE}?limit=5&offset=5"

    second = await page("limit=5&offset=5")
    assert second["previous"] == f"{BASE}?limit=5"
    assert second["next"] == f"{BASE}?limit=5&offset=10"

    last = await page("limit=5&offset=10")
    assert len(last["results"]) == 2  # type: ignore[arg-type]
    assert (last["next"], last["previous"]) == (None, f"{BASE}?limit=5&offset=5")

    exact_last = await page("limit=6&offset=6")
    assert exact_last["next"] is None

    beyond = await page("limit=5&offset=50")
    assert beyond["count"] == 12
    assert beyond["results"] == []
    assert beyond["next"] is None
    assert beyond["previous"] == f"{BASE}?limit=5&offset=45"


async def test_limit_one_and_the_maximum(
    client: httpx.AsyncClient, twelve_tickets: tuple[str, list[dict[str, object]]]
) -> None:
    token, _ = twelve_tickets

    one = (await client.get(f"{LIST}?limit=1", headers=bearer(token))).json()
    most = (await client.get(f"{LIST}?limit=1000", headers=bearer(token))).json()
    default = (await client.get(LIST, headers=bearer(token))).json()

    assert len(one["results"]) == 1
    assert one["next"] == f"{BASE}?limit=1&offset=1"
    assert len(most["results"]) == 12
    assert most["next"] is None
    assert default["next"] is None
    assert len(default["results"]) == 12


async def test_links_keep_other_parameters_sorted_and_form_encoded(
    client: httpx.AsyncClient, twelve_tickets: tuple[str, list[dict[str, object]]]
) -> None:
    token, _ = twelve_tickets
    query = "status=OPEN,APPROVED&search=&zeta=1&alpha=a+b&alpha=c&limit=2&offset=2"

    body = (await client.get(f"{LIST}?{query}", headers=bearer(token))).json()

    before, after = "alpha=a+b&alpha=c&limit=2", "search=&status=OPEN%2CAPPROVED&zeta=1"
    assert body["next"] == f"{BASE}?{before}&offset=4&{after}"
    assert body["previous"] == f"{BASE}?{before}&{after}"


async def test_an_empty_list_has_no_links(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = await make_token(session, await make_user(session, staff=True))

    body = (await client.get(LIST, headers=bearer(token))).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


async def test_page_sizes_come_from_the_settings_the_app_was_created_with(
    client: httpx.AsyncClient,
    app: FastAPI,
    twelve_tickets: tuple[str, list[dict[str, object]]],
) -> None:
    token, _ = twelve_tickets
    app.state.settings = app.state.settings.model_copy(
        update={"page_size_default": 5, "page_size_max": 7}
    )

    default = await client.get(LIST, headers=bearer(token))
    capped = await client.get(LIST, params={"limit": 10}, headers=bearer(token))

    assert len(default.json()["results"]) == 5
    assert default.json()["next"] == BASE + "?limit=5&offset=5"
    assert len(capped.json()["results"]) == 7
    assert capped.json()["next"] == BASE + "?limit=7&offset=7"
