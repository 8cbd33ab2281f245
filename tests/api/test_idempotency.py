"""Idempotency-Key on the POST routes: replays, misuse, and what is stored."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord, SupportTicket, TicketComment
from app.models.enums import TicketStatus
from tests.cast import Cast, make_cast

TICKETS = "/v2/support-tickets/"


def new_ticket(cast: Cast, entity_id: int = 1) -> dict[str, object]:
    return {
        "fleet": cast.fleet.id,
        "reason": "ALREADY_PAID",
        "description": "Paid at the booth.",
        "entities": [{"entity_type": "toll_charge", "entity_id": entity_id}],
    }


def keyed(cast: Cast, key: str) -> dict[str, str]:
    return {**cast.creator.headers, "Idempotency-Key": key}


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_retried_open_gets_the_first_answer_and_no_second_ticket(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    first = await client.post(
        TICKETS, json=new_ticket(cast), headers=keyed(cast, "k-1")
    )
    retry = await client.post(
        TICKETS, json=new_ticket(cast), headers=keyed(cast, "k-1")
    )

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await count(session, SupportTicket) == 1
    assert await count(session, IdempotencyRecord) == 1


async def test_key_order_and_spacing_of_the_body_do_not_matter(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    body = new_ticket(cast)
    reordered = dict(reversed(list(body.items())))

    first = await client.post(TICKETS, json=body, headers=keyed(cast, "k"))
    retry = await client.post(
        TICKETS.rstrip("/"),
        content=b"  " + httpx.Request("POST", "/", json=reordered).content,
        headers={**keyed(cast, "k"), "Content-Type": "application/json"},
    )

    assert retry.status_code == 201
    assert retry.content == first.content


async def test_a_replay_is_the_old_answer_even_after_the_ticket_changed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    url = f"{TICKETS}{ticket.id}/comments/"
    first = await client.post(url, json={"content": "Hi"}, headers=keyed(cast, "c"))
    await client.post(url, json={"content": "Second"}, headers=cast.creator.headers)

    retry = await client.post(url, json={"content": "Hi"}, headers=keyed(cast, "c"))

    assert retry.content == first.content
    assert await count(session, TicketComment) == 2


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    await client.post(TICKETS, json=new_ticket(cast, 1), headers=keyed(cast, "k"))

    response = await client.post(
        TICKETS, json=new_ticket(cast, 2), headers=keyed(cast, "k")
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(session, SupportTicket) == 1


async def test_the_same_key_on_another_path_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session)
    body = {"content": "Same body"}
    await client.post(
        f"{TICKETS}{ticket.id}/comments/", json=body, headers=keyed(cast, "k")
    )
    other = await cast.ticket(session)

    response = await client.post(
        f"{TICKETS}{other.id}/comments/", json=body, headers=keyed(cast, "k")
    )

    assert response.status_code == 422
    assert await count(session, TicketComment) == 1


async def test_keys_belong_to_their_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    mine = await client.post(
        TICKETS, json=new_ticket(cast, 1), headers=keyed(cast, "k")
    )

    theirs = await client.post(
        TICKETS,
        json=new_ticket(cast, 2),
        headers={**cast.colleague.headers, "Idempotency-Key": "k"},
    )

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers


async def test_a_4xx_answer_is_stored_and_replayed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    holder = await cast.ticket(session, entities=[("toll_charge", 1)])
    first = await client.post(TICKETS, json=new_ticket(cast), headers=keyed(cast, "k"))
    # The charge is free now, but the key already has its answer.
    await client.post(
        f"{TICKETS}{holder.id}/transitions/",
        json={"to": "CANCELLED"},
        headers=cast.creator.headers,
    )

    retry = await client.post(TICKETS, json=new_ticket(cast), headers=keyed(cast, "k"))

    assert first.status_code == retry.status_code == 409
    assert retry.content == first.content
    assert retry.headers["Content-Type"] == "application/problem+json"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await count(session, SupportTicket) == 1


async def test_a_failed_transition_is_replayed_too(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, status=TicketStatus.RESOLVED)
    url = f"{TICKETS}{ticket.id}/transitions/"
    staff = {**cast.staff.headers, "Idempotency-Key": "t"}

    first = await client.post(url, json={"to": "OPEN"}, headers=staff)
    retry = await client.post(url, json={"to": "OPEN"}, headers=staff)

    assert first.status_code == retry.status_code == 409
    assert retry.headers["Idempotent-Replayed"] == "true"


async def test_a_request_refused_before_the_work_is_not_stored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    broken = {**new_ticket(cast), "description": ""}

    refused = await client.post(TICKETS, json=broken, headers=keyed(cast, "k"))
    fixed = await client.post(TICKETS, json=new_ticket(cast), headers=keyed(cast, "k"))

    assert refused.status_code == 422
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
async def test_a_malformed_key_is_422(
    client: httpx.AsyncClient, session: AsyncSession, key: str
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS,
        json=new_ticket(cast),
        headers={**cast.creator.headers, "Idempotency-Key": key.encode("utf-8")},
    )

    assert response.status_code == 422
    assert await count(session, SupportTicket) == 0


async def test_the_longest_key_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)

    response = await client.post(
        TICKETS, json=new_ticket(cast), headers=keyed(cast, "~" * 255)
    )

    assert response.status_code == 201


async def test_a_long_host_does_not_break_storing_the_location(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cast = await make_cast(session)
    host = "h" * 3000 + ".example"

    first = await client.post(
        TICKETS, json=new_ticket(cast), headers={**keyed(cast, "k"), "Host": host}
    )
    retry = await client.post(
        TICKETS, json=new_ticket(cast), headers={**keyed(cast, "k"), "Host": host}
    )

    assert first.status_code == retry.status_code == 201
    assert retry.headers["Location"] == first.headers["Location"]
