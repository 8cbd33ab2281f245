"""Dependencies of the routes under /v2/support-tickets/{ticket_id}/."""

from typing import Annotated

from fastapi import Depends, Header, Path

from app.api.deps import CurrentUser, Session
from app.core.etags import IfMatch
from app.schemas.ticket_query import MAX_ID
from app.services import comments as comment_service
from app.services import ticket_workflow

TicketIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The ticket's id.")]


async def _visible_ticket_id(
    session: Session, user: CurrentUser, ticket_id: TicketIdPath
) -> int:
    """Checked before the body is, so that a ticket the caller may not see
    is a 404 whatever was sent (errors come as 401, 404, then 422)."""
    await ticket_workflow.ensure_visible(session, user, ticket_id)
    return ticket_id


VisibleTicketId = Annotated[int, Depends(_visible_ticket_id)]


async def _visible_comment_id(
    session: Session,
    ticket_id: VisibleTicketId,
    comment_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The comment's id.")],
) -> int:
    """A comment of a visible ticket, checked before the body (as above)."""
    await comment_service.ensure_comment_exists(session, ticket_id, comment_id)
    return comment_id


VisibleCommentId = Annotated[int, Depends(_visible_comment_id)]


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=4096,
            description="Change the ticket only if it is still as last read: "
            "its `ETag`, or `*`. A stale tag is a 412 and changes nothing.",
        ),
    ] = None,
) -> IfMatch | None:
    return IfMatch.parse(if_match) if if_match is not None else None


IfMatchHeader = Annotated[IfMatch | None, Depends(_if_match)]
