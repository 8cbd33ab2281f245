"""`next` and `previous` links, written byte for byte as the replaced system did.

Django REST Framework rebuilt the request's absolute URL with `limit` and
`offset` replaced, every other parameter kept (blank and repeated ones too),
parameters sorted by name and form-encoded. Clients compare these links, so
we produce the same bytes.
"""

import json
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from app.api.deps import AppSettings
from app.schemas.ticket_query import BLANK_MEANS_ABSENT, MAX_ID, blank_as_absent


def _with_params(url: str, replace: dict[str, str], drop: tuple[str, ...]) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    for name in drop:
        params.pop(name, None)
    for name, value in replace.items():
        params[name] = [value]
    encoded = urlencode(sorted(params.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, encoded, fragment))


def next_link(url: str, *, count: int, limit: int, offset: int) -> str | None:
    if offset + limit >= count:
        return None
    return _with_params(
        url, {"limit": str(limit), "offset": str(offset + limit)}, drop=()
    )


def previous_link(url: str, *, limit: int, offset: int) -> str | None:
    if offset <= 0:
        return None
    if offset - limit <= 0:
        return _with_params(url, {"limit": str(limit)}, drop=("offset",))
    return _with_params(
        url, {"limit": str(limit), "offset": str(offset - limit)}, drop=()
    )


@dataclass(frozen=True, slots=True)
class PageWindow:
    """Which slice of a list to send: `limit` items after skipping `offset`."""

    limit: int
    offset: int


async def page_window(
    settings: AppSettings,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=1000,
            description="How many items per page (1-1000).",
            json_schema_extra={BLANK_MEANS_ABSENT: True},
        ),
        BeforeValidator(blank_as_absent),
    ] = None,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_ID,
            description="How many items to skip.",
            json_schema_extra={BLANK_MEANS_ABSENT: True},
        ),
        BeforeValidator(blank_as_absent),
    ] = 0,
) -> PageWindow:
    """`limit` and `offset` as every list of this service takes them."""
    return PageWindow(
        limit=min(limit or settings.page_size_default, settings.page_size_max),
        offset=offset,
    )


PageWindowParams = Annotated[PageWindow, Depends(page_window)]


def page_response(
    request: Request, *, count: int, window: PageWindow, results_json: str
) -> Response:
    """The list envelope around results that PostgreSQL rendered as JSON."""
    url = str(request.url)
    after = next_link(url, count=count, limit=window.limit, offset=window.offset)
    before = previous_link(url, limit=window.limit, offset=window.offset)
    body = (
        f'{{"count":{count},"next":{json.dumps(after)},'
        f'"previous":{json.dumps(before)},"results":{results_json}}}'
    )
    return Response(content=body, media_type="application/json")
