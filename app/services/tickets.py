"""Rules about tickets: who sees which, and (later) who may change what."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import tickets as ticket_repository
from app.repositories.tickets import TicketPage
from app.schemas.ticket_query import TicketListQuery
from app.services.auth import Principal


def visible_fleets(principal: Principal) -> frozenset[int] | None:
    """None means every fleet: staff see all tickets, others their fleets'."""
    return None if principal.is_staff else principal.fleet_ids


async def list_support_tickets(
    session: AsyncSession, principal: Principal, query: TicketListQuery
) -> TicketPage:
    return await ticket_repository.list_ticket_page(
        session, visible_fleets(principal), query
    )
