"""A ticket's discussion: list, add and edit comments."""

from fastapi import Request, Response

from app.api.deps import CurrentUser, Session
from app.api.idempotency import IdempotentPost
from app.api.pagination import PageWindowParams, page_response
from app.api.responses import json_response
from app.api.routing import ChecksBeforeBodyRoute, SlashTolerantRouter
from app.api.ticket_deps import TicketIdPath, VisibleCommentId, VisibleTicketId
from app.core.errors import InvalidInput, NotAuthenticated, documented
from app.schemas.comment import CommentCreate, CommentUpdate
from app.schemas.common import Page
from app.schemas.ticket import CommentRead
from app.services import comments as comment_service
from app.services import history
from app.services.comments import (
    CommentNotFound,
    NotCommentAuthor,
    TicketClosedToComments,
)
from app.services.idempotency import KeyReused, RequestInFlight
from app.services.ticket_workflow import TicketNotFound

router = SlashTolerantRouter(
    prefix="/v2/support-tickets/{ticket_id}/comments",
    tags=["comments"],
    route_class=ChecksBeforeBodyRoute,
)


@router.get(
    "/",
    response_model=Page[CommentRead],
    responses=documented(NotAuthenticated, TicketNotFound, InvalidInput),
    summary="List a ticket's comments",
)
async def list_ticket_comments(
    request: Request,
    session: Session,
    user: CurrentUser,
    ticket_id: TicketIdPath,
    window: PageWindowParams,
) -> Response:
    """The ticket's comments in order (sequence 1, 2, 3 ...), paginated."""
    page = await history.list_comments(
        session, user, ticket_id, limit=window.limit, offset=window.offset
    )
    return page_response(
        request,
        count=page.count,
        window=window,
        results_json=page.results_json,
    )


@router.post(
    "/",
    status_code=201,
    response_model=CommentRead,
    responses=documented(
        NotAuthenticated,
        TicketNotFound,
        KeyReused,
        TicketClosedToComments,
        RequestInFlight,
    ),
    summary="Comment on a ticket",
)
async def add_ticket_comment(
    request: Request,
    session: Session,
    user: CurrentUser,
    ticket_id: VisibleTicketId,
    comment: CommentCreate,
    idempotency: IdempotentPost,
) -> Response:
    """Add a comment (1-10000 characters); not on a CANCELLED or RESOLVED ticket."""

    async def add() -> Response:
        added = await comment_service.add_comment(session, user, ticket_id, comment)
        location = request.url_for(
            "edit_ticket_comment", ticket_id=ticket_id, comment_id=added.id
        )
        return json_response(added.json, status_code=201, location=str(location))

    return await idempotency.run(add)


@router.patch(
    "/{comment_id}/",
    response_model=CommentRead,
    responses=documented(
        NotAuthenticated,
        TicketNotFound,
        CommentNotFound,
        InvalidInput,
        NotCommentAuthor,
        TicketClosedToComments,
    ),
    summary="Edit a comment",
)
async def edit_ticket_comment(
    session: Session,
    user: CurrentUser,
    ticket_id: VisibleTicketId,
    comment_id: VisibleCommentId,
    change: CommentUpdate,
) -> Response:
    """Change the text of your own comment; its `updated_at` moves."""
    edited = await comment_service.edit_comment(
        session, user, ticket_id, comment_id, change
    )
    return json_response(edited.json)
