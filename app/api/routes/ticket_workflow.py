"""One ticket: read it, open one, edit it, and move it through its workflow."""

from fastapi import Request, Response

from app.api.deps import CurrentUser, Session
from app.api.idempotency import IdempotentPost
from app.api.responses import json_response
from app.api.routing import ChecksBeforeBodyRoute, SlashTolerantRouter
from app.api.ticket_deps import IfMatchHeader, TicketIdPath, VisibleTicketId
from app.core.errors import InvalidInput, NotAuthenticated, documented
from app.schemas.ticket import TicketRead
from app.schemas.ticket_write import TicketCreate, TicketUpdate
from app.schemas.transition import TransitionRequest
from app.services import ticket_workflow
from app.services.idempotency import KeyReused, RequestInFlight
from app.services.ticket_workflow import (
    ChargeAlreadyDisputed,
    FleetNotAvailable,
    NotCreatorOrStaff,
    NoteProblem,
    TicketChanged,
    TicketNoLongerEditable,
    TicketNotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)

router = SlashTolerantRouter(
    prefix="/v2/support-tickets",
    tags=["support-tickets"],
    route_class=ChecksBeforeBodyRoute,
)


@router.get(
    "/{ticket_id}/",
    response_model=TicketRead,
    responses=documented(NotAuthenticated, TicketNotFound),
    summary="Get a support ticket",
)
async def get_support_ticket(
    session: Session, user: CurrentUser, ticket_id: TicketIdPath
) -> Response:
    """One ticket, in the list's shape, with an `ETag` for conditional changes."""
    ticket = await ticket_workflow.get_ticket(session, user, ticket_id)
    return json_response(ticket.json)


@router.post(
    "/",
    status_code=201,
    response_model=TicketRead,
    responses=documented(
        NotAuthenticated,
        FleetNotAvailable,
        KeyReused,
        ChargeAlreadyDisputed,
        RequestInFlight,
    ),
    summary="Open a support ticket",
)
async def open_support_ticket(
    request: Request,
    session: Session,
    user: CurrentUser,
    ticket: TicketCreate,
    idempotency: IdempotentPost,
) -> Response:
    """Dispute charges of one of your fleets; 409 if one is already disputed."""

    async def open_ticket() -> Response:
        opened = await ticket_workflow.open_ticket(session, user, ticket)
        location = request.url_for("get_support_ticket", ticket_id=opened.id)
        return json_response(opened.json, status_code=201, location=str(location))

    return await idempotency.run(open_ticket)


@router.patch(
    "/{ticket_id}/",
    response_model=TicketRead,
    responses=documented(
        NotAuthenticated,
        TicketNotFound,
        InvalidInput,
        NotCreatorOrStaff,
        TicketChanged,
        TicketNoLongerEditable,
        ChargeAlreadyDisputed,
    ),
    summary="Edit a support ticket",
)
async def edit_support_ticket(
    session: Session,
    user: CurrentUser,
    ticket_id: VisibleTicketId,
    changes: TicketUpdate,
    if_match: IfMatchHeader,
) -> Response:
    """Edit description, reason or entities: creator while OPEN, staff until decided."""
    ticket = await ticket_workflow.edit_ticket(
        session, user, ticket_id, changes, if_match
    )
    return json_response(ticket.json)


@router.post(
    "/{ticket_id}/transitions/",
    response_model=TicketRead,
    responses=documented(
        NotAuthenticated,
        TicketNotFound,
        NoteProblem,
        KeyReused,
        TransitionForbidden,
        TicketChanged,
        TransitionNotAllowed,
        RequestInFlight,
    ),
    summary="Move a support ticket to another status",
)
async def move_support_ticket(
    session: Session,
    user: CurrentUser,
    ticket_id: VisibleTicketId,
    transition: TransitionRequest,
    if_match: IfMatchHeader,
    idempotency: IdempotentPost,
) -> Response:
    """Review, decide, resolve or cancel the ticket; 409 names the moves allowed."""

    async def move() -> Response:
        ticket = await ticket_workflow.move_ticket(
            session, user, ticket_id, transition, if_match
        )
        return json_response(ticket.json)

    return await idempotency.run(move)
