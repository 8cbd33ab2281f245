"""Rules the database itself keeps: exact counters, open claims, history."""

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import SupportTicket, TicketCounter, TicketEntity, TicketEvent
from app.models.enums import TicketReason, TicketStatus
from tests.factories import make_fleet, make_ticket, make_user


async def _counters_match_rows(session: AsyncSession) -> None:
    key = (SupportTicket.fleet_id, SupportTicket.status, SupportTicket.reason)
    grouped = await session.execute(select(*key, func.count()).group_by(*key))
    actual = {(fleet, status, reason): n for fleet, status, reason, n in grouped}
    counters = await session.scalars(
        select(TicketCounter).execution_options(populate_existing=True)
    )
    kept = {
        (counter.fleet_id, counter.status, counter.reason): counter.ticket_count
        for counter in counters
        if counter.ticket_count
    }
    assert kept == actual


async def test_counters_follow_inserts_updates_and_deletes(
    session: AsyncSession,
) -> None:
    north, south = await make_fleet(session), await make_fleet(session)
    user = await make_user(session)
    tickets = [await make_ticket(session, north, user) for _ in range(4)]
    await _counters_match_rows(session)

    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id.in_([tickets[0].id, tickets[1].id]))
        .values(status=TicketStatus.CANCELLED)
    )
    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == tickets[2].id)
        .values(fleet_id=south.id, reason=TicketReason.OTHER)
    )
    await _counters_match_rows(session)

    await session.execute(
        delete(SupportTicket).where(SupportTicket.id == tickets[3].id)
    )
    await _counters_match_rows(session)


async def test_counters_follow_a_bulk_insert(session: AsyncSession) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)

    await session.execute(
        insert(SupportTicket).from_select(
            ["fleet_id", "created_by_id", "status", "reason", "ticket_type"],
            select(
                text(f"{fleet.id}"),
                text(f"{user.id}"),
                text("(ARRAY['OPEN','DENIED'])[1 + n % 2]"),
                text("'OTHER'"),
                text("'DISPUTE'"),
            ).select_from(text("generate_series(1, 500) AS n")),
        )
    )

    await _counters_match_rows(session)


async def test_a_charge_can_be_claimed_by_one_open_ticket_only(
    session: AsyncSession,
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)
    await make_ticket(session, fleet, user, entities=[("toll_charge", 42)])

    with pytest.raises(IntegrityError, match="uq_ticket_entities_open_claim"):
        async with session.begin_nested():
            await make_ticket(session, fleet, user, entities=[("toll_charge", 42)])


@pytest.mark.parametrize(
    "closing", [TicketStatus.CANCELLED, TicketStatus.DENIED, TicketStatus.RESOLVED]
)
async def test_closing_a_ticket_releases_its_charges(
    session: AsyncSession, closing: TicketStatus
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)
    first = await make_ticket(session, fleet, user, entities=[("toll_charge", 43)])
    resolved = closing is not TicketStatus.CANCELLED

    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == first.id)
        .values(
            status=closing,
            resolved_by_id=user.id if resolved else None,
            resolved_at=func.now() if resolved else None,
        )
    )
    second = await make_ticket(session, fleet, user, entities=[("toll_charge", 43)])

    claims = await session.scalars(
        select(TicketEntity.ticket_id).where(TicketEntity.holds_claim)
    )
    assert list(claims) == [second.id]


async def test_approval_keeps_the_claim(session: AsyncSession) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)
    ticket = await make_ticket(session, fleet, user, entities=[("vehicle", 7)])

    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == ticket.id)
        .values(
            status=TicketStatus.APPROVED, resolved_by_id=user.id, resolved_at=func.now()
        )
    )

    assert await session.scalar(select(TicketEntity.holds_claim)) is True


async def test_history_cannot_be_rewritten(session: AsyncSession) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)
    ticket = await make_ticket(session, fleet, user)
    session.add(TicketEvent(ticket_id=ticket.id, kind="opened", actor_id=user.id))
    await session.flush()

    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(update(TicketEvent).values(note="rewritten"))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "CLOSED"),
        ("reason", "open"),
        ("ticket_type", "REFUND"),
    ],
)
async def test_unknown_codes_are_refused_by_the_database(
    session: AsyncSession, column: str, value: str
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session)
    ticket = await make_ticket(session, fleet, user)

    with pytest.raises(IntegrityError, match="ck_support_tickets"):
        async with session.begin_nested():
            await session.execute(
                update(SupportTicket)
                .where(SupportTicket.id == ticket.id)
                .values({column: value})
            )
