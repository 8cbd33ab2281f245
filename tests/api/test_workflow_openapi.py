"""The OpenAPI description of the workflow's operations."""

import httpx
import pytest

OPERATIONS = {
    ("post", "/v2/support-tickets/"): {"201", "401", "409", "422"},
    ("get", "/v2/support-tickets/{ticket_id}/"): {"200", "401", "404"},
    ("patch", "/v2/support-tickets/{ticket_id}/"): {
        "200", "401", "403", "404", "409", "412", "422",
    },
    ("post", "/v2/support-tickets/{ticket_id}/transitions/"): {
        "200", "401", "403", "404", "409", "412", "422",
    },
    ("get", "/v2/support-tickets/{ticket_id}/comments/"): {"200", "401", "404", "422"},
    ("post", "/v2/support-tickets/{ticket_id}/comments/"): {
        "201", "401", "404", "409", "422",
    },
    ("patch", "/v2/support-tickets/{ticket_id}/comments/{comment_id}/"): {
        "200", "401", "403", "404", "409", "422",
    },
    ("get", "/v2/support-tickets/{ticket_id}/events/"): {"200", "401", "404", "422"},
}  # fmt: skip


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
async def test_each_operation_documents_its_errors_and_purpose(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    spec = (await client.get("/openapi.json")).json()

    operation = spec["paths"][path][method]

    assert set(operation["responses"]) >= OPERATIONS[(method, path)]
    assert operation["summary"]
    assert operation["description"]


@pytest.mark.parametrize(
    "schema", ["TicketCreate", "TicketUpdate", "CommentCreate", "TransitionRequest"]
)
async def test_request_bodies_refuse_unknown_fields(
    client: httpx.AsyncClient, schema: str
) -> None:
    spec = (await client.get("/openapi.json")).json()

    assert spec["components"]["schemas"][schema]["additionalProperties"] is False


async def test_posts_document_the_idempotency_key(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    for path in (
        "/v2/support-tickets/",
        "/v2/support-tickets/{ticket_id}/comments/",
        "/v2/support-tickets/{ticket_id}/transitions/",
    ):
        names = [p["name"] for p in spec["paths"][path]["post"]["parameters"]]
        assert "Idempotency-Key" in names


async def test_edit_fields_may_be_left_out_but_are_never_null(
    client: httpx.AsyncClient,
) -> None:
    # Found by Schemathesis: the schema offered null, which the edit refuses.
    spec = (await client.get("/openapi.json")).json()

    edit = spec["components"]["schemas"]["TicketUpdate"]

    assert "required" not in edit
    assert edit["minProperties"] == 1  # an empty edit is refused
    for name, field in edit["properties"].items():
        assert "anyOf" not in field, name
        assert "default" not in field, name
    assert edit["properties"]["entities"]["minItems"] == 1


@pytest.mark.parametrize("schema", ["TicketCreate", "TicketUpdate"])
async def test_entities_are_documented_as_unique(
    client: httpx.AsyncClient, schema: str
) -> None:
    # Found by Schemathesis: a repeated entity was schema-valid, and a 422.
    spec = (await client.get("/openapi.json")).json()

    entities = spec["components"]["schemas"][schema]["properties"]["entities"]

    assert entities["uniqueItems"] is True


def _numeric_bounds(node: object) -> list[float]:
    if isinstance(node, dict):
        found = [
            value
            for key, value in node.items()
            if key in {"minimum", "maximum"} and isinstance(value, int | float)
        ]
        return found + [b for child in node.values() for b in _numeric_bounds(child)]
    if isinstance(node, list):
        return [b for child in node for b in _numeric_bounds(child)]
    return []


async def test_every_numeric_bound_is_published_exactly(
    client: httpx.AsyncClient,
) -> None:
    # Found by Schemathesis: FastAPI writes bounds as floats, so 2**63 - 1
    # was published as 2**63 and fleet 9223372036854775999 was schema-valid.
    spec = (await client.get("/openapi.json")).json()

    bounds = _numeric_bounds(spec)

    assert bounds
    assert all(abs(bound) <= 2**53 - 1 and bound == int(bound) for bound in bounds)
