"""What the OpenAPI document admits, the service accepts, and the reverse.

Each value is checked twice: against the parameter's published schema, and
by sending it. Found by Schemathesis, which judges answers by the schema.
"""

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_token, make_user

LIST = "/v2/support-tickets/"
EVENTS = "/v2/support-tickets/1/events/"


def _parameter_schema(app: FastAPI, path: str, name: str) -> dict[str, object]:
    document = app.openapi()
    template = "/v2/support-tickets/{ticket_id}/events/" if path == EVENTS else path
    parameters = document["paths"][template]["get"]["parameters"]
    (schema,) = [p["schema"] for p in parameters if p["name"] == name]
    return {**schema, "components": document["components"]}


def _as_read(value: str, schema: dict[str, object]) -> object:
    """The value as a schema reads a query string: numbers are numbers, and
    a repeatable parameter is a list."""
    if schema.get("type") == "array":
        return [value]
    return int(value) if value.lstrip("-").isdigit() else value


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("limit", "", True),
        ("limit", "10", True),
        ("limit", "0", False),
        ("offset", "", True),
        ("offset", "-1", False),
        ("fleet", "", True),
        ("fleet", str(2**53), False),
        ("status", "", True),
        ("status", "OPEN, DENIED", True),
        ("status", "OPEN,,", True),
        ("status", "OPEN,NOPE", False),
        ("reason", "OTHER,NOT_MY_TOLL", True),
        ("reason", "other", False),
        ("ordering", "-id, status", True),
        ("ordering", "priority", False),
        ("ordering", "id," * 100, False),
        ("search", "bridge", True),
        ("search", "nul\x00byte", False),
    ],
)
async def test_the_list_schema_and_the_service_agree(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    name: str,
    value: str,
    accepted: bool,
) -> None:
    token = await make_token(session, await make_user(session, staff=True))
    schema = _parameter_schema(app, LIST, name)

    response = await client.get(LIST, params={name: value}, headers=bearer(token))

    assert jsonschema_rs.is_valid(schema, _as_read(value, schema)) is accepted
    assert response.status_code == (200 if accepted else 422), response.text


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("TicketCreate", "description"),
        ("TicketUpdate", "description"),
        ("CommentCreate", "content"),
        ("CommentUpdate", "content"),
    ],
)
def test_text_fields_document_that_nul_is_refused(
    app: FastAPI, component: str, field: str
) -> None:
    schemas = app.openapi()["components"]["schemas"]

    schema = schemas[component]["properties"][field]

    assert jsonschema_rs.is_valid(schema, "plain text")
    assert not jsonschema_rs.is_valid(schema, "nul \x00 inside")


def test_the_resolution_note_documents_that_nul_is_refused(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]

    note = schemas["TransitionRequest"]["properties"]["resolution_note"]

    assert jsonschema_rs.is_valid(note, None)
    assert not jsonschema_rs.is_valid(note, "nul \x00 inside")
