"""Queries over a ticket's comments."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, func, insert, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import SupportTicket, TicketComment, User
from app.repositories.ticket_json import EMPTY_JSON_ARRAY, comment_json_object


@dataclass(frozen=True, slots=True)
class CommentOwner:
    id: int
    author_id: int
    content: str


async def next_comment_sequence(
    session: AsyncSession, ticket_id: int
) -> tuple[int, datetime]:
    """Hand out the ticket's next comment number; it and the change's stamp.

    The increment takes the ticket's row lock (if the caller does not hold it
    already) until the transaction ends, so concurrent writers get 1, 2, 3 ...
    in commit order, and a rolled-back writer gives its number back.
    """
    statement = (
        update(SupportTicket)
        .where(SupportTicket.id == ticket_id)
        .values(
            last_comment_sequence=SupportTicket.last_comment_sequence + 1,
            updated_at=func.statement_timestamp(),
        )
        .returning(SupportTicket.last_comment_sequence, SupportTicket.updated_at)
    )
    sequence, stamp = (await session.execute(statement)).one()
    return sequence, stamp


async def insert_comment(
    session: AsyncSession,
    *,
    ticket_id: int,
    author_id: int,
    content: str,
    sequence: int,
    created_at: datetime,
) -> int:
    statement = (
        insert(TicketComment)
        .values(
            ticket_id=ticket_id,
            author_id=author_id,
            content=content,
            sequence=sequence,
            created_at=created_at,
            updated_at=created_at,
        )
        .returning(TicketComment.id)
    )
    comment_id: int = (await session.execute(statement)).scalar_one()
    return comment_id


async def find_comment(
    session: AsyncSession, ticket_id: int, comment_id: int
) -> CommentOwner | None:
    """The comment, if it belongs to this ticket."""
    statement = select(
        TicketComment.id, TicketComment.author_id, TicketComment.content
    ).where(TicketComment.id == comment_id, TicketComment.ticket_id == ticket_id)
    row = (await session.execute(statement)).one_or_none()
    return CommentOwner(*row) if row is not None else None


async def touch_ticket(session: AsyncSession, ticket_id: int) -> datetime:
    """Stamp the ticket's `updated_at` for a change to one of its comments."""
    statement = (
        update(SupportTicket)
        .where(SupportTicket.id == ticket_id)
        .values(updated_at=func.statement_timestamp())
        .returning(SupportTicket.updated_at)
    )
    stamp: datetime = (await session.execute(statement)).scalar_one()
    return stamp


async def change_comment(
    session: AsyncSession, comment_id: int, *, content: str, updated_at: datetime
) -> None:
    await session.execute(
        update(TicketComment)
        .where(TicketComment.id == comment_id)
        .values(content=content, updated_at=updated_at)
    )


async def render_comment(session: AsyncSession, comment_id: int) -> str:
    """The comment's JSON, in the shape tickets nest their comments."""
    statement = (
        select(comment_json_object(TicketComment, User).cast(Text))
        .select_from(TicketComment)
        .join(User, User.id == TicketComment.author_id)
        .where(TicketComment.id == comment_id)
    )
    rendered: str = (await session.execute(statement)).scalar_one()
    return rendered


async def list_comment_page(
    session: AsyncSession, ticket_id: int, *, limit: int, offset: int
) -> tuple[int, str]:
    """The ticket's comment count and one page of comments as JSON, by sequence."""
    page_ids = (
        select(TicketComment.id)
        .where(TicketComment.ticket_id == ticket_id)
        .order_by(TicketComment.sequence)
        .limit(limit)
        .offset(offset)
    )
    comment = comment_json_object(TicketComment, User)
    results = (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(comment, TicketComment.sequence)),
                EMPTY_JSON_ARRAY,
            ).cast(Text)
        )
        .select_from(TicketComment)
        .join(User, User.id == TicketComment.author_id)
        .where(TicketComment.id.in_(page_ids))
    )
    count = (
        select(func.count())
        .select_from(TicketComment)
        .where(TicketComment.ticket_id == ticket_id)
    )
    statement = select(count.scalar_subquery(), results.scalar_subquery())
    total, results_json = (await session.execute(statement)).one()
    return total, results_json
