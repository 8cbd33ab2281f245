"""GET /v2/support-tickets/: the list contract of the replaced system."""

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from app.api.deps import CurrentUser, Session
from app.api.pagination import PageWindow, PageWindowParams, page_response
from app.api.routing import SlashTolerantRouter
from app.core.errors import NotAuthenticated, documented
from app.models.enums import TicketReason, TicketStatus
from app.schemas.common import Page
from app.schemas.ticket import TicketRead
from app.schemas.ticket_query import (
    BLANK_MEANS_ABSENT,
    MAX_ID,
    MAX_ORDERING_LENGTH,
    MAX_SEARCH_LENGTH,
    NO_NUL_PATTERN,
    ORDERING_PATTERN,
    OrderingField,
    TicketListQuery,
    blank_as_absent,
    code_list_items,
    parse_ordering,
    split_codes,
    split_search_terms,
)
from app.services import tickets as ticket_service

router = SlashTolerantRouter(prefix="/v2/support-tickets", tags=["support-tickets"])

_ORDERING_FIELDS = ", ".join(field.value for field in OrderingField)

FleetParam = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ID,
        description="Only tickets of this fleet.",
        json_schema_extra={BLANK_MEANS_ABSENT: True},
    ),
    BeforeValidator(blank_as_absent),
]
StatusParam = Annotated[
    list[TicketStatus],
    Query(
        description="Only tickets in this status. Several may be given, "
        "comma-separated (`OPEN,UNDER_REVIEW`) or repeated.",
        json_schema_extra={"items": code_list_items("TicketStatus", TicketStatus)},
    ),
    BeforeValidator(split_codes),
]
ReasonParam = Annotated[
    list[TicketReason],
    Query(
        description="Only tickets disputed for this reason. Several may be "
        "given, comma-separated or repeated.",
        json_schema_extra={"items": code_list_items("TicketReason", TicketReason)},
    ),
    BeforeValidator(split_codes),
]
SearchParam = Annotated[
    str,
    Query(
        max_length=MAX_SEARCH_LENGTH,
        description="Words that must all appear (case-insensitive) in the "
        "description, resolution note, creator's username or email, or a "
        'comment; "quoted phrases" stay together, digits also match the id. '
        "At most 200 characters and 10 terms.",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    ),
]
OrderingParam = Annotated[
    str,
    Query(
        description=f"Comma-separated fields to sort by, `-` for descending: "
        f"{_ORDERING_FIELDS}. Default `-created_at`; id always breaks ties.",
        max_length=MAX_ORDERING_LENGTH,
        # Documented only: parse_ordering's own message names the bad field.
        json_schema_extra={"pattern": ORDERING_PATTERN},
    ),
]


def _query_error(
    field: str, error: PydanticCustomError, value: str
) -> dict[str, object]:
    return {
        "type": error.type,
        "loc": ("query", field),
        "msg": error.message(),
        "input": value,
    }


async def ticket_list_query(
    window: PageWindowParams,
    fleet: FleetParam = None,
    status: StatusParam = [],  # noqa: B006 - FastAPI copies parameter defaults
    reason: ReasonParam = [],  # noqa: B006
    search: SearchParam = "",
    ordering: OrderingParam = "",
) -> TicketListQuery:
    errors = []
    try:
        search_terms = split_search_terms(search)
    except PydanticCustomError as error:
        errors.append(_query_error("search", error, search))
    try:
        order_keys = parse_ordering(ordering)
    except PydanticCustomError as error:
        errors.append(_query_error("ordering", error, ordering))
    if errors:
        raise RequestValidationError(errors)

    return TicketListQuery(
        fleet_id=fleet,
        statuses=tuple(dict.fromkeys(status)),
        reasons=tuple(dict.fromkeys(reason)),
        search_terms=search_terms,
        ordering=order_keys,
        limit=window.limit,
        offset=window.offset,
    )


TicketListParams = Annotated[TicketListQuery, Depends(ticket_list_query)]


@router.get(
    "/",
    response_model=Page[TicketRead],
    responses=documented(NotAuthenticated),
    summary="List support tickets",
)
async def list_support_tickets(
    request: Request, session: Session, user: CurrentUser, query: TicketListParams
) -> Response:
    """Tickets the caller may see, filtered, searched, ordered and paginated."""
    page = await ticket_service.list_support_tickets(session, user, query)

    return page_response(
        request,
        count=page.count,
        window=PageWindow(limit=query.limit, offset=query.offset),
        results_json=page.results_json,
    )
