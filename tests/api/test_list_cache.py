"""Kept list answers: reused only while provably current, never otherwise.

The app runs with its lifespan (its own engine and cache), rows are committed
for real, and the statements the app sends are counted: a reused answer costs
the token lookup alone.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, event, func, text, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.list_cache import KeptAnswer, ListAnswerCache
from app.core.settings import Settings
from app.main import create_app
from app.models import ApiToken, FleetMembership, SupportTicket
from app.models.enums import TicketStatus
from tests.cast import Cast, make_cast
from tests.database import remove_committed_rows
from tests.operations.helpers import client_for, running
from tests.operations.test_metrics import labels, samples

LIST = "/v2/support-tickets/"


@dataclass
class Cached:
    app: FastAPI
    sessionmaker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    cast: Cast
    statements: list[str]

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements the app sends meanwhile."""
        first = len(self.statements)
        seen: list[str] = []
        yield seen
        seen.extend(self.statements[first:])

    async def get(
        self, person: Any, url: str = LIST, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.get(url, headers={**person.headers, **(headers or {})})


@pytest.fixture
async def cached(database_url: URL) -> AsyncIterator[Cached]:
    settings = Settings(
        database_url=database_url.render_as_string(hide_password=False),
        log_level="WARNING",
    )
    app = create_app(settings)
    async with running(app), client_for(app) as client:
        engine = app.state.sessionmaker.kw["bind"]
        statements: list[str] = []

        def note(*arguments: Any) -> None:
            statements.append(arguments[2])

        event.listen(engine.sync_engine, "before_cursor_execute", note)
        async with app.state.sessionmaker() as session:
            cast = await make_cast(session)
            for number in range(3):
                await cast.ticket(session, description=f"Ticket {number}")
            await session.commit()
        try:
            yield Cached(app, app.state.sessionmaker, client, cast, statements)
        finally:
            await remove_committed_rows(engine)


async def _fresh_use_stamps(cached: Cached) -> None:
    """Stamp every token as just used, so that reads need not stamp them."""
    async with cached.sessionmaker() as session:
        await session.execute(update(ApiToken).values(last_used_at=func.now()))
        await session.commit()


async def test_a_repeated_request_is_answered_with_the_same_bytes_from_one_statement(
    cached: Cached,
) -> None:
    first = await cached.get(cached.cast.creator)

    with cached.counting() as statements:
        again = await cached.get(cached.cast.creator)

    assert again.status_code == 200
    assert again.content == first.content
    assert len(statements) == 1
    assert "ticket_list_versions" in statements[0]


async def test_callers_who_see_different_fleets_never_share_an_answer(
    cached: Cached,
) -> None:
    await _fresh_use_stamps(cached)
    member = await cached.get(cached.cast.creator)
    colleague = await cached.get(cached.cast.colleague)  # the same fleet

    outsider = await cached.get(cached.cast.outsider)
    staff = await cached.get(cached.cast.staff)

    assert member.json()["count"] == 3
    assert colleague.content == member.content
    assert outsider.json()["count"] == 0
    assert staff.json()["count"] == 3
    assert cached.app.state.list_cache.entries == 3


async def test_a_reused_answer_has_the_headers_of_a_computed_one(
    cached: Cached,
) -> None:
    first = await cached.get(cached.cast.creator)
    again = await cached.get(cached.cast.creator)

    def without_request_id(response: httpx.Response) -> list[tuple[str, str]]:
        return [
            (name, value)
            for name, value in response.headers.multi_items()
            if name != "x-request-id"
        ]

    assert without_request_id(again) == without_request_id(first)
    assert again.headers["x-request-id"] != first.headers["x-request-id"]


async def test_a_ticket_opened_through_the_api_shows_in_the_next_answer(
    cached: Cached,
) -> None:
    for number in range(5):
        before = (await cached.get(cached.cast.creator)).json()
        opened = await cached.client.post(
            LIST,
            headers=cached.cast.creator.headers,
            json={
                "fleet": cached.cast.fleet.id,
                "reason": "WRONG_VEHICLE",
                "description": f"Opened {number}",
                "entities": [{"entity_type": "toll_charge", "entity_id": 900 + number}],
            },
        )
        assert opened.status_code == 201

        after = (await cached.get(cached.cast.creator)).json()
        assert after["count"] == before["count"] + 1
        assert after["results"][0]["id"] == opened.json()["id"]


async def test_a_change_committed_elsewhere_shows_in_the_next_answer(
    cached: Cached,
) -> None:
    await cached.get(cached.cast.staff, f"{LIST}?status=UNDER_REVIEW")
    async with cached.sessionmaker() as session:
        await session.execute(
            update(SupportTicket).values(status=TicketStatus.UNDER_REVIEW)
        )
        await session.commit()

    answer = await cached.get(cached.cast.staff, f"{LIST}?status=UNDER_REVIEW")

    assert answer.json()["count"] == 3


async def test_a_change_in_a_fleet_the_caller_cannot_see_keeps_the_answer(
    cached: Cached,
) -> None:
    await _fresh_use_stamps(cached)
    kept = await cached.get(cached.cast.outsider)
    before = (await cached.get(cached.cast.creator)).json()["count"]
    async with cached.sessionmaker() as session:
        await cached.cast.ticket(session)  # in the creator's fleet
        await session.commit()

    with cached.counting() as statements:
        again = await cached.get(cached.cast.outsider)
    after = (await cached.get(cached.cast.creator)).json()["count"]

    assert again.content == kept.content
    assert len(statements) == 1
    assert after == before + 1


async def _open_in_the_creators_fleet(cached: Cached) -> None:
    async with cached.sessionmaker() as session:
        await cached.cast.ticket(session)
        await session.commit()


async def test_a_list_filtered_to_a_fleet_is_kept_through_writes_to_others(
    cached: Cached,
) -> None:
    await _fresh_use_stamps(cached)
    other = f"{LIST}?fleet={cached.cast.other_fleet.id}"
    kept = await cached.get(cached.cast.staff, other)
    await _open_in_the_creators_fleet(cached)

    with cached.counting() as statements:
        again = await cached.get(cached.cast.staff, other)

    assert again.content == kept.content
    assert len(statements) == 1


async def test_a_list_filtered_to_a_fleet_follows_writes_to_it(
    cached: Cached,
) -> None:
    mine = f"{LIST}?fleet={cached.cast.fleet.id}"
    before = (await cached.get(cached.cast.staff, mine)).json()["count"]
    await _open_in_the_creators_fleet(cached)

    assert (await cached.get(cached.cast.staff, mine)).json()["count"] == before + 1


async def test_a_fleet_named_twice_is_checked_against_every_fleet(
    cached: Cached,
) -> None:
    # The route reads the last value; the cache must not trust the first.
    both = f"{LIST}?fleet={cached.cast.other_fleet.id}&fleet={cached.cast.fleet.id}"
    before = (await cached.get(cached.cast.staff, both)).json()["count"]
    await _open_in_the_creators_fleet(cached)

    assert (await cached.get(cached.cast.staff, both)).json()["count"] == before + 1


async def test_a_revoked_token_is_refused_though_its_answer_is_kept(
    cached: Cached,
) -> None:
    await cached.get(cached.cast.creator)
    async with cached.sessionmaker() as session:
        await session.execute(update(ApiToken).values(revoked_at=func.now()))
        await session.commit()

    answer = await cached.get(cached.cast.creator)

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_caller_who_leaves_a_fleet_no_longer_gets_its_tickets(
    cached: Cached,
) -> None:
    assert (await cached.get(cached.cast.creator)).json()["count"] == 3
    async with cached.sessionmaker() as session:
        await session.execute(
            delete(FleetMembership).where(
                FleetMembership.user_id == cached.cast.creator.id
            )
        )
        await session.commit()

    assert (await cached.get(cached.cast.creator)).json()["count"] == 0


async def test_answers_are_kept_per_public_url(cached: Cached) -> None:
    plain = await cached.get(cached.cast.creator, f"{LIST}?limit=1")
    behind_gateway = await cached.get(
        cached.cast.creator,
        f"{LIST}?limit=1",
        headers={
            **cached.cast.creator.headers,
            "X-Forwarded-Host": "api.example.com",
            "X-Forwarded-Prefix": "/tickets",
        },
    )

    assert plain.json()["next"].startswith("http://testserver/v2/")
    assert behind_gateway.json()["next"].startswith(
        "http://api.example.com/tickets/v2/"
    )


async def test_a_token_due_for_its_use_stamp_is_stamped_and_still_reuses(
    cached: Cached,
) -> None:
    # Left to the app, the stamp would commit only once a whole answer was
    # computed, and every request meanwhile would compute one too.
    first = await cached.get(cached.cast.creator)
    async with cached.sessionmaker() as session:
        await session.execute(
            update(ApiToken).values(last_used_at=func.now() - timedelta(minutes=5))
        )
        await session.commit()

    with cached.counting() as statements:
        answer = await cached.get(cached.cast.creator)

    assert answer.content == first.content
    assert len(statements) == 2
    assert statements[1].startswith("UPDATE api_tokens")
    async with cached.sessionmaker() as session:
        stamped = await session.scalar(
            text(
                "SELECT bool_and(last_used_at > now() - interval '1 minute')"
                " FROM api_tokens WHERE user_id = :user"
            ),
            {"user": cached.cast.creator.id},
        )
    assert stamped is True


async def test_identical_requests_arriving_together_are_computed_once(
    cached: Cached,
) -> None:
    await _fresh_use_stamps(cached)

    with cached.counting() as statements:
        answers = await asyncio.gather(
            *(cached.get(cached.cast.staff, f"{LIST}?search=Ticket") for _ in range(8))
        )

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    searches = [statement for statement in statements if "ILIKE" in statement]
    assert len(searches) == 1


async def test_every_answer_read_during_writes_is_one_that_was_current(
    cached: Cached,
) -> None:
    """Readers and a writer race; a count is never below a committed count."""
    committed = 3
    writing = True

    async def write() -> None:
        nonlocal committed, writing
        for _ in range(20):
            async with cached.sessionmaker() as session:
                await cached.cast.ticket(session)
                await session.commit()
            committed += 1
            await asyncio.sleep(0)
        writing = False

    async def read() -> list[tuple[int, int]]:
        seen = []
        while writing:
            floor = committed
            answer = await cached.get(cached.cast.creator)
            seen.append((floor, answer.json()["count"]))
        return seen

    writer = asyncio.create_task(write())
    readings = await asyncio.gather(*(read() for _ in range(4)))
    await writer

    pairs = [pair for reading in readings for pair in reading]
    assert pairs
    assert all(count >= floor for floor, count in pairs)
    assert (await cached.get(cached.cast.creator)).json()["count"] == committed


async def test_a_database_that_cannot_be_reached_is_a_503_problem(
    cached: Cached,
) -> None:
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))

    async with running(app), client_for(app) as client:
        answer = await client.get(LIST, headers=cached.cast.creator.headers)

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"]


async def test_the_cache_is_off_when_its_size_is_zero(database_url: URL) -> None:
    settings = Settings(
        database_url=database_url.render_as_string(hide_password=False),
        list_cache_max_bytes=0,
    )
    app = create_app(settings)

    async with running(app):
        assert getattr(app.state, "list_cache", None) is None


def _answer(version: int, size: int) -> KeptAnswer:
    return KeptAnswer(version, {"type": "http.response.start"}, b"x" * size, None)


def test_the_least_recently_used_answers_go_first(engine: AsyncEngine) -> None:
    cache = ListAnswerCache(engine, max_bytes=32_000, wait_seconds=1)
    cache.put(("a",), _answer(1, 2000))
    cache.put(("b",), _answer(1, 2000))
    assert cache.get(("a",), 1) is not None  # "a" is now the most recent

    for name in "cdefghijk":
        cache.put((name,), _answer(1, 2000))

    assert cache.get(("a",), 1) is not None
    assert cache.get(("b",), 1) is None
    assert 0 < cache.size_bytes <= 32_000


def test_many_small_answers_are_held_to_the_limit(engine: AsyncEngine) -> None:
    cache = ListAnswerCache(engine, max_bytes=100_000, wait_seconds=1)
    for number in range(10_000):
        cache.put((number,), _answer(1, 10))

    assert cache.size_bytes <= 100_000
    assert cache.get((0,), 1) is None
    assert cache.get((9_999,), 1) is not None


def test_an_answer_too_large_for_its_share_is_not_kept(engine: AsyncEngine) -> None:
    cache = ListAnswerCache(engine, max_bytes=80_000, wait_seconds=1)
    cache.put(("large",), _answer(1, 10_000))

    assert cache.get(("large",), 1) is None
    assert cache.size_bytes == 0


def test_an_older_answer_never_replaces_a_newer_one(engine: AsyncEngine) -> None:
    cache = ListAnswerCache(engine, max_bytes=80_000, wait_seconds=1)
    cache.put(("key",), _answer(5, 10))
    cache.put(("key",), _answer(4, 10))

    assert cache.get(("key",), 5) is not None
    assert cache.get(("key",), 4) is None


async def test_an_answer_computed_reads_the_token_once(cached: Cached) -> None:
    await _fresh_use_stamps(cached)

    with cached.counting() as statements:
        answer = await cached.get(cached.cast.creator, f"{LIST}?limit=2")

    assert answer.status_code == 200
    assert sum("api_tokens" in statement for statement in statements) == 1
    assert len(statements) == 2


async def test_reused_answers_are_counted_under_the_list_route(
    cached: Cached,
) -> None:
    await _fresh_use_stamps(cached)
    for _ in range(3):
        await cached.get(cached.cast.creator, f"{LIST}?limit=1")

    exposition = (await cached.client.get("/metrics")).text

    found = samples(exposition)
    assert found[("list_cache_computed_answers_total", frozenset())] == 1
    assert found[("list_cache_reused_answers_total", frozenset())] == 2
    assert found[("list_cache_answers", frozenset())] == 1
    listed = labels(method="GET", route=LIST, status="200")
    assert found[("http_requests_total", listed)] == 3
