"""Reading a ticket's comments and events, page by page."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import comments as comment_repository
from app.repositories import events as event_repository
from app.services.auth import Principal
from app.services.ticket_workflow import ensure_visible


@dataclass(frozen=True, slots=True)
class JsonPage:
    """The exact count of a list and one page of it, rendered as a JSON array."""

    count: int
    results_json: str


async def list_comments(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    *,
    limit: int,
    offset: int,
) -> JsonPage:
    await ensure_visible(session, principal, ticket_id)
    count, results_json = await comment_repository.list_comment_page(
        session, ticket_id, limit=limit, offset=offset
    )
    return JsonPage(count=count, results_json=results_json)


async def list_events(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    *,
    limit: int,
    offset: int,
) -> JsonPage:
    await ensure_visible(session, principal, ticket_id)
    count, results_json = await event_repository.list_event_page(
        session, ticket_id, limit=limit, offset=offset
    )
    return JsonPage(count=count, results_json=results_json)
