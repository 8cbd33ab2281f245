"""Changes to a ticket that show in its JSON, for tests of what follows them.

Each takes the session, the ticket (with one comment and one entity) and a
user who created it or may act on it, and touches nothing but that ticket.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import SupportTicket, TicketComment, TicketEntity, User
from app.models.enums import TicketStatus

Change = Callable[[AsyncSession, SupportTicket, User], Awaitable[object]]


async def close(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
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


async def comment(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    session.add(
        TicketComment(ticket_id=ticket.id, author_id=user.id, content="New", sequence=9)
    )
    await session.flush()


async def edit_comment(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(
        update(TicketComment)
        .where(TicketComment.ticket_id == ticket.id)
        .values(content="Edited")
    )


async def drop_comments(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(
        delete(TicketComment).where(TicketComment.ticket_id == ticket.id)
    )


async def add_entity(session: AsyncSession, ticket: SupportTicket, user: User) -> None:
    session.add(TicketEntity(ticket_id=ticket.id, entity_type="vehicle", entity_id=5))
    await session.flush()


async def drop_entities(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(
        delete(TicketEntity).where(TicketEntity.ticket_id == ticket.id)
    )


async def rename_creator(
    session: AsyncSession, ticket: SupportTicket, user: User
) -> None:
    await session.execute(
        update(User).where(User.id == ticket.created_by_id).values(username="renamed")
    )


SHOWN_CHANGES = (
    close,
    comment,
    edit_comment,
    drop_comments,
    add_entity,
    drop_entities,
    rename_creator,
)
