"""Every change that can alter a list answer raises its fleet's list version.

The versions are raised when the writing transaction commits. These tests
run in a transaction that is rolled back, so they ask PostgreSQL to raise
them at the end of each statement instead (SET CONSTRAINTS ALL IMMEDIATE).
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import (
    Fleet,
    SupportTicket,
    TicketEntity,
    TicketListVersion,
    User,
)
from app.models.enums import TicketStatus
from tests.database import remove_committed_rows
from tests.factories import make_fleet, make_ticket, make_user
from tests.ticket_changes import SHOWN_CHANGES, Change


@pytest.fixture
async def raising_at_once(session: AsyncSession) -> AsyncSession:
    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    return session


async def _version(session: AsyncSession, fleet: Fleet) -> int:
    statement = select(func.coalesce(func.sum(TicketListVersion.version), 0)).where(
        TicketListVersion.fleet_id == fleet.id
    )
    return int(await session.scalar(statement) or 0)


async def _review(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == ticket.id)
        .values(status=TicketStatus.UNDER_REVIEW)
    )


async def _delete_ticket(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(delete(SupportTicket).where(SupportTicket.id == ticket.id))


async def _open_another(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    fleet = await session.get_one(Fleet, ticket.fleet_id)
    await make_ticket(session, fleet, user)


@pytest.mark.parametrize(
    "change", [*SHOWN_CHANGES, _review, _open_another, _delete_ticket]
)
async def test_a_change_raises_the_version_of_its_fleet_only(
    raising_at_once: AsyncSession, change: Change
) -> None:
    session = raising_at_once
    fleet, other_fleet = await make_fleet(session), await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    ticket = await make_ticket(session, fleet, user, comments=[(user, "First")])
    await make_ticket(session, other_fleet, await make_user(session))
    before, other_before = (
        await _version(session, fleet),
        await _version(session, other_fleet),
    )

    await change(session, ticket, user)

    assert await _version(session, fleet) > before
    assert await _version(session, other_fleet) == other_before


async def test_a_fleet_counts_as_version_zero_until_its_first_ticket(
    raising_at_once: AsyncSession,
) -> None:
    session = raising_at_once
    fleet = await make_fleet(session)
    assert await _version(session, fleet) == 0

    await make_ticket(session, fleet, await make_user(session))

    assert await _version(session, fleet) >= 1


async def test_a_ticket_moved_to_another_fleet_raises_both(
    raising_at_once: AsyncSession,
) -> None:
    session = raising_at_once
    fleet, other_fleet = await make_fleet(session), await make_fleet(session)
    user = await make_user(session)
    ticket = await make_ticket(session, fleet, user)
    await make_ticket(session, other_fleet, user)
    before = (await _version(session, fleet), await _version(session, other_fleet))

    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == ticket.id)
        .values(fleet_id=other_fleet.id)
    )

    after = (await _version(session, fleet), await _version(session, other_fleet))
    assert after[0] > before[0]
    assert after[1] > before[1]


async def test_truncating_the_tickets_raises_every_fleet(
    raising_at_once: AsyncSession,
) -> None:
    session = raising_at_once
    fleets = [await make_fleet(session), await make_fleet(session)]
    user = await make_user(session)
    for fleet in fleets:
        await make_ticket(session, fleet, user)
    before = [await _version(session, fleet) for fleet in fleets]

    await session.execute(text("TRUNCATE support_tickets CASCADE"))

    after = [await _version(session, fleet) for fleet in fleets]
    assert all(now > then for now, then in zip(after, before, strict=True))


async def test_renaming_a_user_named_in_no_ticket_raises_nothing(
    raising_at_once: AsyncSession,
) -> None:
    session = raising_at_once
    fleet = await make_fleet(session)
    await make_ticket(session, fleet, await make_user(session))
    stranger = await make_user(session)
    before = await _version(session, fleet)

    await session.execute(
        update(User).where(User.id == stranger.id).values(username="someone")
    )

    assert await _version(session, fleet) == before


async def test_versions_are_raised_when_the_transaction_commits(
    session: AsyncSession,
) -> None:
    fleet = await make_fleet(session)
    await make_ticket(session, fleet, await make_user(session))
    assert await _version(session, fleet) == 0

    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))

    assert await _version(session, fleet) > 0


@pytest.fixture
async def committed_fleet(engine: AsyncEngine) -> AsyncIterator[dict[str, int]]:
    """A fleet with an open and a reviewed ticket of one reason, committed."""
    async with engine.begin() as connection:
        fleet = await connection.scalar(
            insert(Fleet).values(name="Versions").returning(Fleet.id)
        )
        user = await connection.scalar(
            insert(User)
            .values(username="versions", email="versions@example.com")
            .returning(User.id)
        )
        ids = {}
        for status in (TicketStatus.OPEN, TicketStatus.UNDER_REVIEW):
            ids[status] = await connection.scalar(
                insert(SupportTicket)
                .values(
                    fleet_id=fleet,
                    created_by_id=user,
                    status=status,
                    reason="OTHER",
                    ticket_type="DISPUTE",
                )
                .returning(SupportTicket.id)
            )
        await connection.execute(
            insert(TicketEntity).values(
                ticket_id=ids[TicketStatus.UNDER_REVIEW],
                entity_type="toll_charge",
                entity_id=1,
            )
        )
    try:
        yield {
            "open": ids[TicketStatus.OPEN],
            "reviewed": ids[TicketStatus.UNDER_REVIEW],
        }
    finally:
        await remove_committed_rows(engine)


def _status(ticket_id: int, status: TicketStatus) -> object:
    return (
        update(SupportTicket).where(SupportTicket.id == ticket_id).values(status=status)
    )


async def test_writers_of_one_fleet_do_not_deadlock_on_its_version(
    engine: AsyncEngine, committed_fleet: dict[str, int]
) -> None:
    # The order a ticket's closing takes its locks in: its charges released
    # (a nested statement), then its counters. Raised mid-transaction, the
    # version would be locked first here and last in the other writer.
    async with engine.connect() as closing, engine.connect() as reviewing:
        await closing.begin()
        await reviewing.begin()
        await closing.execute(
            update(TicketEntity)
            .where(TicketEntity.ticket_id == committed_fleet["reviewed"])
            .values(holds_claim=False)
        )
        await asyncio.wait_for(
            reviewing.execute(
                _status(committed_fleet["open"], TicketStatus.UNDER_REVIEW)
            ),
            timeout=5,
        )
        # Waits for the reviewer's counter rows until the reviewer commits.
        closed = asyncio.create_task(
            closing.execute(
                _status(committed_fleet["reviewed"], TicketStatus.CANCELLED)
            )
        )
        await asyncio.sleep(0.2)
        await reviewing.commit()
        await asyncio.wait_for(closed, timeout=5)
        await closing.commit()
