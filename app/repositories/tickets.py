"""The ticket list's query: exact count and one page, in one statement."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.queries import CompiledQuery, compile_query, fetch_row
from app.models import (
    SupportTicket,
    TicketComment,
    TicketCounter,
    TicketDocument,
    User,
)
from app.repositories.ticket_json import ticket_json_select
from app.schemas.ticket_query import (
    BIGINT_MAX,
    OrderingField,
    OrderKey,
    TicketListQuery,
    with_tie_breaker,
)

_VISIBLE_FLEETS = bindparam("visible_fleets", type_=ARRAY(BigInteger))
_FLEET_ID = bindparam("fleet_id", type_=BigInteger)
_STATUSES = bindparam("statuses", type_=ARRAY(String))
_REASONS = bindparam("reasons", type_=ARRAY(String))


@dataclass(frozen=True, slots=True)
class TicketPage:
    count: int
    results_json: str


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the SQL of a list request depends on; values are parameters.

    `terms` holds, per search term, whether it may also be a ticket id.
    """

    scoped: bool
    fleet: bool
    statuses: bool
    reasons: bool
    terms: tuple[bool, ...]
    ordering: tuple[OrderKey, ...]


def _like_pattern(term: str) -> str:
    """A substring pattern in which %, _ and \\ stand for themselves."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _as_ticket_id(term: str) -> int | None:
    if term.isascii() and term.isdigit() and int(term) <= BIGINT_MAX:
        return int(term)
    return None


def _ids_matching(index: int, may_be_id: bool) -> Any:
    """Ids of tickets that search term `index` matches.

    A union of id sets rather than one OR across tables: each branch can use
    its own trigram index, and a ticket matched by several comments is one id.
    """
    pattern = bindparam(f"pattern_{index}", type_=String)
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
    if may_be_id:
        branches.append(select(bindparam(f"ticket_id_{index}", type_=BigInteger)))
    return union(*branches)


def _scope_and_codes(table: Any, shape: _Shape) -> list[ColumnElement[bool]]:
    """The caller's scope, then the fleet, status and reason filters.

    Tickets and their counters share these columns, so both take them.
    """
    conditions: list[ColumnElement[bool]] = []
    if shape.scoped:
        conditions.append(table.fleet_id == any_(_VISIBLE_FLEETS))
    if shape.fleet:
        conditions.append(table.fleet_id == _FLEET_ID)
    if shape.statuses:
        conditions.append(table.status == any_(_STATUSES))
    if shape.reasons:
        conditions.append(table.reason == any_(_REASONS))
    return conditions


def _filters(ticket: Any, shape: _Shape) -> list[ColumnElement[bool]]:
    """The WHERE clause: scope and codes, then every search term."""
    conditions = _scope_and_codes(ticket, shape)
    conditions.extend(
        ticket.id.in_(_ids_matching(index, may_be_id))
        for index, may_be_id in enumerate(shape.terms)
    )
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


def _counted(shape: _Shape) -> ColumnElement[int]:
    """The exact count without a search: a sum over the trigger-kept counters."""
    total = func.coalesce(func.sum(TicketCounter.ticket_count), 0)
    conditions = _scope_and_codes(TicketCounter, shape)
    return select(total).where(*conditions).scalar_subquery()


def _filtered_page(shape: _Shape) -> tuple[Select[Any], ColumnElement[int]]:
    """The page's ids read off an index; the count from the counters."""
    ticket = aliased(SupportTicket, name="paged")
    page_ids = (
        select(ticket.id)
        .where(*_filters(ticket, shape))
        .order_by(*_order_by(ticket, shape.ordering))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return page_ids, _counted(shape)


def _searched_page(shape: _Shape) -> tuple[Select[Any], ColumnElement[int]]:
    """Matches are found once (a CTE, materialized), then counted and paged."""
    ticket = aliased(SupportTicket, name="matched_ticket")
    sort_columns = [getattr(ticket, field.value) for field in OrderingField]
    matches = select(*sort_columns).where(*_filters(ticket, shape)).cte("matches")
    page_ids = (
        select(matches.c.id)
        .order_by(*_order_by(matches.c, shape.ordering))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count()).select_from(matches).scalar_subquery()
    return page_ids, count


def _page_documents(page_ids: Select[Any], shape: _Shape) -> ColumnElement[str]:
    """The page's stored documents joined into one JSON array, in page order."""
    joined = func.string_agg(
        TicketDocument.body,
        aggregate_order_by(
            literal_column("','"), *_order_by(SupportTicket, shape.ordering)
        ),
    )
    documents = ticket_json_select().where(SupportTicket.id.in_(page_ids))
    array: ColumnElement[str] = (
        literal_column("'['") + func.coalesce(joined, "") + literal_column("']'")
    )
    return documents.with_only_columns(array).scalar_subquery()


@lru_cache(maxsize=512)
def _list_query(shape: _Shape) -> CompiledQuery:
    """The statement for one shape of request, built and compiled once."""
    page_ids, count = _searched_page(shape) if shape.terms else _filtered_page(shape)
    results = _page_documents(page_ids, shape)
    return compile_query(select(count.label("count"), results.label("results")))


async def list_ticket_page(
    session: AsyncSession,
    visible_fleets: Collection[int] | None,
    query: TicketListQuery,
) -> TicketPage:
    """The exact count and the page's tickets as one JSON array.

    `visible_fleets` is None for staff (everything) or the fleets whose
    tickets the caller may see. The page's ids are found first, walking an
    index and skipping `offset` entries there, and only those rows are read.
    """
    term_ids = [_as_ticket_id(term) for term in query.search_terms]
    shape = _Shape(
        scoped=visible_fleets is not None,
        fleet=query.fleet_id is not None,
        statuses=bool(query.statuses),
        reasons=bool(query.reasons),
        terms=tuple(ticket_id is not None for ticket_id in term_ids),
        ordering=query.ordering,
    )
    values: dict[str, Any] = {
        "visible_fleets": sorted(visible_fleets or ()),
        "fleet_id": query.fleet_id,
        "statuses": [status.value for status in query.statuses],
        "reasons": [reason.value for reason in query.reasons],
        "limit": query.limit,
        "offset": query.offset,
    }
    for index, (term, ticket_id) in enumerate(
        zip(query.search_terms, term_ids, strict=True)
    ):
        values[f"pattern_{index}"] = _like_pattern(term)
        values[f"ticket_id_{index}"] = ticket_id

    row = await fetch_row(session, _list_query(shape), values)
    assert row is not None  # an aggregate always answers one row
    return TicketPage(count=row[0], results_json=row[1])
