"""Responses whose JSON body PostgreSQL already rendered."""

from fastapi import Response

from app.core.etags import etag_of


def json_response(
    body: str | bytes,
    *,
    status_code: int = 200,
    location: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON body rendered by PostgreSQL, with its strong ETag."""
    content = body.encode() if isinstance(body, str) else body
    all_headers = {"ETag": etag_of(content), **(headers or {})}
    if location is not None:
        all_headers["Location"] = location
    return Response(
        content=content,
        status_code=status_code,
        media_type="application/json",
        headers=all_headers,
    )
