"""Rules of a ticket's discussion: who may comment, edit a comment, and when.

Anyone who may see a ticket may comment on it; only a comment's author may
edit it; a CANCELLED or RESOLVED ticket takes neither. Comment numbers come
from the ticket row's counter, incremented under its lock, so they are
1, 2, 3 ... with no gap or repeat however many writers race.
"""

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound, PermissionDenied
from app.models.enums import EventKind, TicketStatus
from app.repositories import comments as comment_repository
from app.repositories import events as event_repository
from app.repositories.ticket_workflow import LockedTicket
from app.schemas.comment import CommentCreate, CommentUpdate
from app.services.auth import Principal
from app.services.ticket_workflow import lock_visible_ticket

logger = structlog.get_logger(__name__)

CLOSED_TO_COMMENTS = frozenset({TicketStatus.CANCELLED, TicketStatus.RESOLVED})


class CommentNotFound(NotFound):
    title = "Comment not found"

    def __init__(self) -> None:
        super().__init__("This ticket has no comment with this id.")


class NotCommentAuthor(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("Only the author of a comment may edit it.")


class TicketClosedToComments(Conflict):
    slug = "ticket-closed"
    title = "Ticket closed"


@dataclass(frozen=True, slots=True)
class RenderedComment:
    id: int
    json: str


async def ensure_comment_exists(
    session: AsyncSession, ticket_id: int, comment_id: int
) -> None:
    """404 unless the comment belongs to the (visible) ticket."""
    if await comment_repository.find_comment(session, ticket_id, comment_id) is None:
        raise CommentNotFound()


def _check_open(ticket: LockedTicket) -> None:
    if ticket.status in CLOSED_TO_COMMENTS:
        raise TicketClosedToComments(
            f"A ticket that is {ticket.status.value} takes no new or edited comment."
        )


async def add_comment(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    comment: CommentCreate,
) -> RenderedComment:
    ticket = await lock_visible_ticket(session, principal, ticket_id)
    _check_open(ticket)

    sequence, stamp = await comment_repository.next_comment_sequence(session, ticket.id)
    comment_id = await comment_repository.insert_comment(
        session,
        ticket_id=ticket.id,
        author_id=principal.user_id,
        content=comment.content,
        sequence=sequence,
        created_at=stamp,
    )
    await event_repository.record_event(
        session,
        ticket_id=ticket.id,
        kind=EventKind.COMMENTED,
        actor_id=principal.user_id,
        created_at=stamp,
        comment_id=comment_id,
    )

    logger.info(
        "comment.added",
        ticket_id=ticket.id,
        comment_id=comment_id,
        user_id=principal.user_id,
    )
    rendered = await comment_repository.render_comment(session, comment_id)
    return RenderedComment(id=comment_id, json=rendered)


async def edit_comment(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    comment_id: int,
    change: CommentUpdate,
) -> RenderedComment:
    ticket = await lock_visible_ticket(session, principal, ticket_id)
    comment = await comment_repository.find_comment(session, ticket.id, comment_id)
    if comment is None:
        raise CommentNotFound()
    if comment.author_id != principal.user_id:
        raise NotCommentAuthor()
    _check_open(ticket)

    if change.content != comment.content:
        stamp = await comment_repository.touch_ticket(session, ticket.id)
        await comment_repository.change_comment(
            session, comment.id, content=change.content, updated_at=stamp
        )
        await event_repository.record_event(
            session,
            ticket_id=ticket.id,
            kind=EventKind.COMMENT_EDITED,
            actor_id=principal.user_id,
            created_at=stamp,
            comment_id=comment.id,
        )
        logger.info(
            "comment.edited",
            ticket_id=ticket.id,
            comment_id=comment.id,
            user_id=principal.user_id,
        )

    rendered = await comment_repository.render_comment(session, comment.id)
    return RenderedComment(id=comment.id, json=rendered)
