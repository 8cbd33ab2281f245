"""Behaviour that only real commits on several connections can show.

These tests do not use the rolled-back `client`: the app gets the service's
own engine and sessionmaker, requests run concurrently on their own
connections and commit for real, and the tables are emptied afterwards.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.deps import Session
from app.core.database import create_engine, create_sessionmaker
from app.core.settings import Settings
from app.main import create_app
from app.models import (
    Fleet,
    IdempotencyRecord,
    SupportTicket,
    TicketComment,
    TicketEvent,
)
from app.models.enums import TicketStatus
from tests.cast import Cast, make_cast, make_person
from tests.database import remove_committed_rows

TICKETS = "/v2/support-tickets/"

COUNTERS_MATCH = text(
    """
    SELECT count(*) = 0 FROM (
        SELECT fleet_id, status, reason, count(*) AS n
        FROM support_tickets GROUP BY 1, 2, 3
    ) AS actual
    FULL JOIN (SELECT * FROM ticket_counters WHERE ticket_count <> 0) AS kept
        USING (fleet_id, status, reason)
    WHERE actual.n IS DISTINCT FROM kept.ticket_count
    """
)


@dataclass
class Live:
    app: FastAPI
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient

    async def scalar(self, statement: object) -> object:
        """Read on a connection of its own: what every other client sees."""
        async with self.engine.connect() as connection:
            return await connection.scalar(statement)  # type: ignore[call-overload]


@pytest.fixture
async def live(database_url: URL) -> AsyncIterator[Live]:
    settings = Settings(
        database_url=database_url.render_as_string(hide_password=False),
        database_pool_size=12,
        database_max_overflow=0,
        database_pool_timeout=30,
        log_level="WARNING",
    )
    engine = create_engine(settings)
    app = create_app(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield Live(app, engine, app.state.sessionmaker, client)
    finally:
        await remove_committed_rows(engine)
        await engine.dispose()


async def committed_cast(live: Live, **ticket_fields: object) -> tuple[Cast, int]:
    async with live.sessionmaker() as session:
        cast = await make_cast(session)
        ticket = await cast.ticket(session, **ticket_fields)
        await session.commit()
    return cast, ticket.id


async def call_asgi(
    app: FastAPI,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    when_delivered: Callable[[], Awaitable[object]],
) -> tuple[int, object]:
    """Drive the app like a server; `when_delivered` runs the moment the
    last byte of the response is handed over, before the app returns."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    status = 0
    seen: list[object] = []
    delivered = asyncio.Event()

    async def receive() -> dict[str, object]:
        if delivered.is_set():
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]
        if message["type"] == "http.response.body" and not message.get("more_body"):
            delivered.set()
            seen.append(await when_delivered())

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status, seen[0]


async def test_a_write_is_visible_to_others_as_soon_as_its_response_arrives(
    live: Live,
) -> None:
    cast, _ = await committed_cast(live)
    marker = "Visible before the response"
    body = (
        b'{"fleet": %d, "reason": "OTHER", "description": "%s",'
        b' "entities": [{"entity_type": "toll_charge", "entity_id": 99}]}'
    ) % (cast.fleet.id, marker.encode())
    stored = select(func.count()).where(SupportTicket.description == marker)

    status, visible = await call_asgi(
        live.app,
        "POST",
        TICKETS,
        {**cast.creator.headers, "Content-Type": "application/json"},
        body,
        lambda: live.scalar(stored),
    )

    assert status == 201
    assert visible == 1


async def test_an_error_after_a_flush_leaves_nothing_behind(live: Live) -> None:
    app = create_app(live.app.state.settings)
    app.state.sessionmaker = live.sessionmaker

    @app.post("/flush-then-fail")
    async def flush_then_fail(session: Session) -> None:
        session.add(Fleet(name="Half-made fleet"))
        await session.flush()
        raise RuntimeError("after the flush")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    ) as client:
        response = await client.post("/flush-then-fail")

    assert response.status_code == 500
    assert (
        await live.scalar(select(func.count()).where(Fleet.name == "Half-made fleet"))
        == 0
    )


async def test_a_refused_claim_after_the_ticket_was_written_stores_nothing(
    live: Live,
) -> None:
    cast, holder = await committed_cast(live, entities=[("toll_charge", 2)])
    body = {
        "fleet": cast.fleet.id,
        "reason": "OTHER",
        "description": "Two charges, one taken",
        "entities": [
            {"entity_type": "toll_charge", "entity_id": 1},
            {"entity_type": "toll_charge", "entity_id": 2},
        ],
    }

    plain = await live.client.post(TICKETS, json=body, headers=cast.creator.headers)
    keyed = await live.client.post(
        TICKETS, json=body, headers={**cast.creator.headers, "Idempotency-Key": "a"}
    )

    assert plain.status_code == keyed.status_code == 409
    assert f"ticket {holder}" in plain.json()["detail"]
    assert await live.scalar(select(func.count()).select_from(SupportTicket)) == 1
    assert await live.scalar(select(func.count()).select_from(TicketEvent)) == 0
    assert await live.scalar(COUNTERS_MATCH) is True
    assert await live.scalar(select(IdempotencyRecord.status_code)) == 409


async def test_fifty_concurrent_comments_are_numbered_1_to_50(live: Live) -> None:
    cast, ticket_id = await committed_cast(live)
    writers = [cast.creator, cast.colleague, cast.staff]

    responses = await asyncio.gather(
        *(
            live.client.post(
                f"{TICKETS}{ticket_id}/comments/",
                json={"content": f"Comment {n}"},
                headers=writers[n % 3].headers,
            )
            for n in range(50)
        )
    )

    assert [response.status_code for response in responses] == [201] * 50
    assert sorted(r.json()["sequence"] for r in responses) == list(range(1, 51))
    stored = select(func.array_agg(TicketComment.sequence)).where(
        TicketComment.ticket_id == ticket_id
    )
    assert sorted(await live.scalar(stored)) == list(range(1, 51))  # type: ignore[arg-type]
    ticket = (
        await live.client.get(f"{TICKETS}{ticket_id}/", headers=cast.staff.headers)
    ).json()
    assert [c["sequence"] for c in ticket["comments"]] == list(range(1, 51))
    assert ticket["updated_at"] == max(c["created_at"] for c in ticket["comments"])
    commented = select(func.count()).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "commented"
    )
    assert await live.scalar(commented) == 50


@pytest.mark.parametrize(
    ("start", "targets"),
    [
        (TicketStatus.OPEN, ["UNDER_REVIEW"] * 20),
        (TicketStatus.UNDER_REVIEW, ["APPROVED", "DENIED"] * 10),
        (TicketStatus.OPEN, ["CANCELLED", "RESOLVED"] * 10),
    ],
)
async def test_twenty_racing_transitions_have_one_winner_and_a_true_history(
    live: Live, start: TicketStatus, targets: list[str]
) -> None:
    cast, ticket_id = await committed_cast(live, status=start)
    async with live.sessionmaker() as session:
        reviewers = [await make_person(session, staff=True) for _ in targets]
        await session.commit()

    responses = await asyncio.gather(
        *(
            live.client.post(
                f"{TICKETS}{ticket_id}/transitions/",
                json={"to": target, "resolution_note": "Decided."}
                if target in ("APPROVED", "DENIED", "RESOLVED")
                else {"to": target},
                headers=reviewer.headers,
            )
            for target, reviewer in zip(targets, reviewers, strict=True)
        )
    )

    outcomes = Counter(response.status_code for response in responses)
    assert outcomes == {200: 1, 409: 19}
    winner_index = next(i for i, r in enumerate(responses) if r.status_code == 200)
    winner, target = reviewers[winner_index], targets[winner_index]
    events = (
        await live.client.get(
            f"{TICKETS}{ticket_id}/events/", headers=cast.staff.headers
        )
    ).json()["results"]
    assert [
        (event["kind"], event["actor"]["id"], event["from_status"], event["to_status"])
        for event in events
    ] == [("status_changed", winner.id, start.value, target)]
    ticket = (
        await live.client.get(f"{TICKETS}{ticket_id}/", headers=cast.staff.headers)
    ).json()
    assert ticket["status"] == target
    assert ticket == responses[winner_index].json()
    assert await live.scalar(COUNTERS_MATCH) is True


async def test_concurrent_disputes_of_one_charge_open_one_ticket(live: Live) -> None:
    cast, _ = await committed_cast(live, entities=[("toll_charge", 500)])
    body = {
        "fleet": cast.fleet.id,
        "reason": "OTHER",
        "description": "Racing for the same charge",
        "entities": [
            {"entity_type": "toll_charge", "entity_id": 700},
            {"entity_type": "toll_charge", "entity_id": 701},
        ],
    }

    responses = await asyncio.gather(
        *(
            live.client.post(TICKETS, json=body, headers=cast.creator.headers)
            for _ in range(10)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
    assert await live.scalar(select(func.count()).select_from(SupportTicket)) == 2
    assert await live.scalar(COUNTERS_MATCH) is True


async def test_identical_requests_racing_with_one_key_create_one_comment(
    live: Live,
) -> None:
    cast, ticket_id = await committed_cast(live)
    headers = {**cast.creator.headers, "Idempotency-Key": "same-click"}

    responses = await asyncio.gather(
        *(
            live.client.post(
                f"{TICKETS}{ticket_id}/comments/",
                json={"content": "Clicked ten times"},
                headers=headers,
            )
            for _ in range(10)
        )
    )

    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}
    assert statuses[201] >= 1
    assert len({r.content for r in responses if r.status_code == 201}) == 1
    comments = select(func.count()).where(TicketComment.ticket_id == ticket_id)
    assert await live.scalar(comments) == 1


async def test_a_duplicate_while_the_first_runs_is_409_then_replayed(
    live: Live,
) -> None:
    cast, ticket_id = await committed_cast(live)
    url = f"{TICKETS}{ticket_id}/comments/"
    headers = {**cast.creator.headers, "Idempotency-Key": "slow"}
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async with live.engine.connect() as blocker:
        # Hold the ticket's row: the first request takes its key, then waits.
        await blocker.execute(
            select(SupportTicket.id)
            .where(SupportTicket.id == ticket_id)
            .with_for_update()
        )
        first = asyncio.create_task(
            live.client.post(url, json={"content": "Slow"}, headers=headers)
        )
        for _ in range(200):
            if await live.scalar(waiting):
                break
            await asyncio.sleep(0.01)
        duplicate = await live.client.post(
            url, json={"content": "Slow"}, headers=headers
        )
        await blocker.rollback()
    original = await first
    retry = await live.client.post(url, json={"content": "Slow"}, headers=headers)

    assert duplicate.status_code == 409
    assert duplicate.headers["Retry-After"] == "1"
    assert duplicate.json()["type"].endswith("request-in-flight")
    assert original.status_code == retry.status_code == 201
    assert retry.content == original.content
    assert retry.headers["Idempotent-Replayed"] == "true"
    comments = select(func.count()).where(TicketComment.ticket_id == ticket_id)
    assert await live.scalar(comments) == 1
