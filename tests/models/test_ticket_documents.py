"""Stored ticket documents follow every change that shows in them."""

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    SupportTicket,
    TicketComment,
    TicketDocument,
    TicketEntity,
    User,
)
from app.models.enums import TicketStatus
from tests.factories import make_fleet, make_ticket, make_user


async def _stored(session: AsyncSession, ticket_id: int) -> str | None:
    statement = select(TicketDocument.body).where(TicketDocument.ticket_id == ticket_id)
    return await session.scalar(statement.execution_options(populate_existing=True))


async def _fresh(session: AsyncSession, ticket_id: int) -> str | None:
    rendered = await session.execute(
        text("SELECT body FROM render_ticket_documents(ARRAY[:id]::bigint[])"),
        {"id": ticket_id},
    )
    return rendered.scalar_one_or_none()


Change = Callable[[AsyncSession, SupportTicket, User], Awaitable[object]]


async def _close(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    await session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == ticket.id)
        .values(
            status=TicketStatus.RESOLVED,
            resolution_note="Refunded",
            resolved_by_id=user.id,
            resolved_at=func.now(),
        )
    )


async def _comment(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    session.add(
        TicketComment(ticket_id=ticket.id, author_id=user.id, content="New", sequence=9)
    )
    await session.flush()


async def _edit_comment(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(update(TicketComment).values(content="Edited"))


async def _drop_comment(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(delete(TicketComment))


async def _add_entity(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    session.add(TicketEntity(ticket_id=ticket.id, entity_type="vehicle", entity_id=5))
    await session.flush()


async def _drop_entity(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(delete(TicketEntity))


async def _rename(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    await session.execute(
        update(User).where(User.id == user.id).values(username="renamed")
    )


@pytest.mark.parametrize(
    "change",
    [
        _close,
        _comment,
        _edit_comment,
        _drop_comment,
        _add_entity,
        _drop_entity,
        _rename,
    ],
)
async def test_a_change_re_renders_the_document(
    session: AsyncSession, change: Change
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    ticket = await make_ticket(session, fleet, user, comments=[(user, "First")])
    before = await _stored(session, ticket.id)

    await change(session, ticket, user)

    after = await _stored(session, ticket.id)
    assert after == await _fresh(session, ticket.id)
    assert after != before


async def test_a_new_ticket_has_its_document_at_once(session: AsyncSession) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])

    ticket = await make_ticket(session, fleet, user)

    assert await _stored(session, ticket.id) == await _fresh(session, ticket.id)


async def test_renaming_a_stranger_leaves_documents_alone(
    session: AsyncSession,
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    stranger = await make_user(session)
    ticket = await make_ticket(session, fleet, user)
    before = await _stored(session, ticket.id)

    await session.execute(
        update(User).where(User.id == stranger.id).values(email="new@example.com")
    )

    assert await _stored(session, ticket.id) == before
