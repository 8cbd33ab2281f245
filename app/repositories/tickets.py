"""Every query over support tickets."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import SupportTicket, TicketComment, TicketCounter, User
from app.repositories.ticket_json import ticket_json_select
from app.schemas.ticket_query import (
    BIGINT_MAX,
    OrderingField,
    OrderKey,
    TicketListQuery,
    with_tie_breaker,
)


@dataclass(frozen=True, slots=True)
class TicketPage:
    count: int
    results_json: str


def _like_pattern(term: str) -> str:
    """A substring pattern in which %, _ and \\ stand for themselves."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _ids_matching(term: str) -> Any:
    """Ids of tickets that one search term matches, each branch index-friendly.

    A union of id sets rather than one OR across tables: each branch can use
    its own trigram index, and a ticket matched by several comments is one id.
    """
    pattern = _like_pattern(term)
    ticket = aliased(SupportTicket, name="matched")
    branches: list[Select[Any]] = [
        select(ticket.id).where(
            or_(
                ticket.description.ilike(pattern, escape="\\"),
                ticket.resolution_note.ilike(pattern, escape="\\"),
            )
        ),
        select(ticket.id)
        .join(User, User.id == ticket.created_by_id)
        .where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
            )
        ),
        select(TicketComment.ticket_id).where(
            TicketComment.content.ilike(pattern, escape="\\")
        ),
    ]
    if term.isascii() and term.isdigit() and int(term) <= BIGINT_MAX:
        branches.append(select(literal(int(term))))
    return union(*branches)


def _filters(
    ticket: Any, visible_fleets: Collection[int] | None, query: TicketListQuery
) -> list[ColumnElement[bool]]:
    """The WHERE clause: the caller's scope first, then the query's filters."""
    conditions: list[ColumnElement[bool]] = []
    if visible_fleets is not None:
        conditions.append(ticket.fleet_id.in_(sorted(visible_fleets)))
    if query.fleet_id is not None:
        conditions.append(ticket.fleet_id == query.fleet_id)
    if query.statuses:
        conditions.append(ticket.status.in_(query.statuses))
    if query.reasons:
        conditions.append(ticket.reason.in_(query.reasons))
    conditions.extend(ticket.id.in_(_ids_matching(term)) for term in query.search_terms)
    return conditions


def _order_by(ticket: Any, ordering: Sequence[OrderKey]) -> list[ColumnElement[Any]]:
    clauses = []
    for key in with_tie_breaker(tuple(ordering)):
        column = getattr(ticket, key.field.value)
        clause = column.desc() if key.descending else column.asc()
        if key.field is OrderingField.RESOLVED_AT:
            # Unresolved tickets come last whichever way the list is sorted.
            clause = clause.nulls_last()
        clauses.append(clause)
    return clauses


def _counted(
    visible_fleets: Collection[int] | None, query: TicketListQuery
) -> ColumnElement[int]:
    """The exact count without a search: a sum over the trigger-kept counters."""
    conditions: list[ColumnElement[bool]] = []
    if visible_fleets is not None:
        conditions.append(TicketCounter.fleet_id.in_(sorted(visible_fleets)))
    if query.fleet_id is not None:
        conditions.append(TicketCounter.fleet_id == query.fleet_id)
    if query.statuses:
        conditions.append(TicketCounter.status.in_(query.statuses))
    if query.reasons:
        conditions.append(TicketCounter.reason.in_(query.reasons))
    total = func.coalesce(func.sum(TicketCounter.ticket_count), 0)
    return select(total).where(*conditions).scalar_subquery()


@lru_cache(maxsize=64)
def _rendered_page(ordering: tuple[OrderKey, ...]) -> Select[Any]:
    """The JSON-building part of the statement, built once per ordering.

    It is a large expression; constructing it on every request cost more
    Python time than the rest of the request together.
    """
    return ticket_json_select(*_order_by(SupportTicket, ordering))  # type: ignore[no-any-return]


def _filtered_page(
    visible_fleets: Collection[int] | None, query: TicketListQuery
) -> tuple[Select[Any], ColumnElement[int]]:
    """The page's ids read off an index; the count from the counters."""
    ticket = aliased(SupportTicket, name="paged")
    page_ids = (
        select(ticket.id)
        .where(*_filters(ticket, visible_fleets, query))
        .order_by(*_order_by(ticket, query.ordering))
        .limit(query.limit)
        .offset(query.offset)
    )
    return page_ids, _counted(visible_fleets, query)


def _searched_page(
    visible_fleets: Collection[int] | None, query: TicketListQuery
) -> tuple[Select[Any], ColumnElement[int]]:
    """Matches are found once (a CTE, materialized), then counted and paged."""
    ticket = aliased(SupportTicket, name="matched_ticket")
    sort_columns = [getattr(ticket, field.value) for field in OrderingField]
    matches = (
        select(*sort_columns)
        .where(*_filters(ticket, visible_fleets, query))
        .cte("matches")
    )
    page_ids = (
        select(matches.c.id)
        .order_by(*_order_by(matches.c, query.ordering))
        .limit(query.limit)
        .offset(query.offset)
    )
    count = select(func.count()).select_from(matches).scalar_subquery()
    return page_ids, count


async def list_ticket_page(
    session: AsyncSession,
    visible_fleets: Collection[int] | None,
    query: TicketListQuery,
) -> TicketPage:
    """One statement: the exact count and the page's tickets as a JSON array.

    `visible_fleets` is None for staff (everything) or the fleets whose
    tickets the caller may see. The page's ids are found first, walking an
    index and skipping `offset` entries there, and only those rows are read.
    """
    if query.search_terms:
        page_ids, count = _searched_page(visible_fleets, query)
    else:
        page_ids, count = _filtered_page(visible_fleets, query)
    results = _rendered_page(query.ordering).where(SupportTicket.id.in_(page_ids))
    statement = select(count.label("count"), results.scalar_subquery().label("results"))
    count, results_json = (await session.execute(statement)).one()
    return TicketPage(count=count, results_json=results_json)
