"""Stored ticket documents follow every change that shows in them."""

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    TicketDocument,
    User,
)
from tests.factories import make_fleet, make_ticket, make_user
from tests.ticket_changes import SHOWN_CHANGES, Change


async def _stored(session: AsyncSession, ticket_id: int) -> str | None:
    statement = select(TicketDocument.body).where(TicketDocument.ticket_id == ticket_id)
    return await session.scalar(statement.execution_options(populate_existing=True))


async def _fresh(session: AsyncSession, ticket_id: int) -> str | None:
    rendered = await session.execute(
        text("SELECT body FROM render_ticket_documents(ARRAY[:id]::bigint[])"),
        {"id": ticket_id},
    )
    return rendered.scalar_one_or_none()


@pytest.mark.parametrize("change", SHOWN_CHANGES)
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
