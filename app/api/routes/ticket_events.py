"""A ticket's history, oldest first."""

from fastapi import Request, Response

from app.api.deps import CurrentUser, Session
from app.api.pagination import PageWindowParams, page_response
from app.api.routing import SlashTolerantRouter
from app.api.ticket_deps import TicketIdPath
from app.core.errors import InvalidInput, NotAuthenticated, documented
from app.schemas.common import Page
from app.schemas.event import EventRead
from app.services import history
from app.services.ticket_workflow import TicketNotFound

router = SlashTolerantRouter(
    prefix="/v2/support-tickets/{ticket_id}/events", tags=["events"]
)


@router.get(
    "/",
    response_model=Page[EventRead],
    responses=documented(NotAuthenticated, TicketNotFound, InvalidInput),
    summary="List a ticket's history",
)
async def list_ticket_events(
    request: Request,
    session: Session,
    user: CurrentUser,
    ticket_id: TicketIdPath,
    window: PageWindowParams,
) -> Response:
    """Every step of the ticket, oldest first; events are never changed or removed."""
    page = await history.list_events(
        session, user, ticket_id, limit=window.limit, offset=window.offset
    )
    return page_response(
        request,
        count=page.count,
        window=window,
        results_json=page.results_json,
    )
